//! Files streamed to and from peers, on the room's thread: a file we send is read piece by piece
//! (on tokio's blocking pool) as the core asks; a stream we take is written as it arrives and the
//! sender granted more once each piece is written, so a slow disk slows the sender and neither
//! side holds more than the stream's window. The core checks each stream's SHA-256 end to end.
//!
//! A stream taken as resumable is staged (leaving the room does not end it for its sender, which
//! waits 60 s for a claim) and its ticket kept beside the file (`<file>.rendez-ticket`) until it
//! ends; a later run resumes it from the file's length: the bytes already there are hashed again
//! (in 1 MiB reads on the room's thread) and the sender goes on from there.

use crate::room::{IncomingStream, RoomEvent, StreamFailure};
use rendez_core::frame::PayloadKind;
use rendez_core::payload::SharedBytes;
use rendez_core::room::{Event, IncomingStreamId, Room, RoomError, StreamError, StreamId, StreamRequest};
use rendez_core::stream_ticket::StreamTicket;
use rendez_core::time::Instant;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

type Done = oneshot::Sender<Result<u64, StreamFailure>>;

/// Streams offered and not taken (nor refused) yet, at most: each holds up to its window (8 MiB)
/// of what arrived; past this the oldest is refused.
const MAX_OFFERED: usize = 8;

/// A stream adopted by [`FileStreams::resume`] whose bytes on disk are to be hashed again.
pub(crate) struct Rehash {
    id: IncomingStreamId,
    file: File,
    path: PathBuf,
    staged: u64,
    progress: Option<watch::Sender<u64>>,
    done: Done,
}

/// Bytes read from a file we send, for [`Room::stream_read`]: `None` at its end.
pub(crate) struct FileRead {
    pub stream: StreamId,
    pub read: Result<Option<Vec<u8>>, String>,
}

struct Outgoing {
    file: Arc<File>,
    /// Bytes read so far, for the app.
    progress: Option<watch::Sender<u64>>,
    done: Done,
}

enum Incoming {
    /// Offered to the app, not taken yet: what arrived meanwhile (at most the stream's window),
    /// how it ended if it did (a short stream may end before the app takes it), and its ticket.
    Offered { held: Vec<SharedBytes>, ended: Option<Result<u64, StreamError>>, ticket: StreamTicket },
    /// Being written to `path`; with its ticket's file if it is resumable.
    Writing {
        file: File,
        path: PathBuf,
        written: u64,
        ticket_path: Option<PathBuf>,
        progress: Option<watch::Sender<u64>>,
        done: Done,
    },
}

pub(crate) struct FileStreams {
    outgoing: HashMap<StreamId, Outgoing>,
    incoming: HashMap<IncomingStreamId, Incoming>,
    reads: mpsc::UnboundedSender<FileRead>,
}

impl FileStreams {
    /// Streams whose file reads are reported to `reads`.
    pub fn new(reads: mpsc::UnboundedSender<FileRead>) -> Self {
        Self { outgoing: HashMap::new(), incoming: HashMap::new(), reads }
    }

    /// Starts streaming the file at `path` to `peer` on `action`.
    pub fn send(
        &mut self,
        core: &mut Room<SharedBytes>,
        now: Instant,
        (peer, action, path, metadata): (String, String, PathBuf, Option<String>),
        progress: Option<watch::Sender<u64>>,
        done: Done,
    ) {
        let opened = File::open(&path).and_then(|file| Ok((file.metadata()?.len(), file)));
        let (size, file) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                done.send(Err(file_error(&path, &e))).ok();
                return;
            }
        };
        let request =
            StreamRequest { peer, action, kind: PayloadKind::Binary, metadata, size: Some(size), seekable: true };
        match core.send_stream(now, request) {
            Ok(stream) => {
                self.outgoing.insert(stream, Outgoing { file: Arc::new(file), progress, done });
            }
            Err(e) => {
                done.send(Err(StreamFailure::Refused(e))).ok();
            }
        }
    }

    /// The core asks for at most `max` bytes of `stream` from `offset`: read off the room's
    /// thread, reported as a [`FileRead`].
    pub fn read(&self, stream: StreamId, offset: u64, max: u64) {
        let Some(outgoing) = self.outgoing.get(&stream) else { return };
        let (file, reads) = (outgoing.file.clone(), self.reads.clone());
        tokio::task::spawn_blocking(move || {
            let mut buf = vec![0; max as usize];
            let read = read_at(&file, &mut buf, offset).map(|n| {
                buf.truncate(n);
                (n > 0).then_some(buf)
            });
            reads.send(FileRead { stream, read: read.map_err(|e| e.to_string()) }).ok();
        });
    }

    /// A read of `stream` came back: the app's progress follows it.
    pub fn read_done(&self, stream: StreamId, read: &Result<Option<Vec<u8>>, String>) {
        if let (Some(outgoing), Ok(Some(bytes))) = (self.outgoing.get(&stream), read) {
            if let Some(progress) = &outgoing.progress {
                progress.send_modify(|sent| *sent += bytes.len() as u64);
            }
        }
    }

    /// Takes the offered `stream` into the file at `path`; a `resumable` one is staged and its
    /// ticket written beside the file until it ends.
    #[allow(clippy::too_many_arguments)]
    pub fn receive(
        &mut self,
        core: &mut Room<SharedBytes>,
        now: Instant,
        stream: IncomingStream,
        path: PathBuf,
        resumable: bool,
        progress: Option<watch::Sender<u64>>,
        done: Done,
    ) {
        let id = IncomingStreamId(stream.0);
        if !matches!(self.incoming.get(&id), Some(Incoming::Offered { .. })) {
            let error = RoomError::Invalid("no such stream is offered".to_owned());
            done.send(Err(StreamFailure::Refused(error))).ok();
            return;
        }
        let Some(Incoming::Offered { held, ended, ticket }) = self.incoming.remove(&id) else { return };
        let ticket_path = resumable.then(|| ticket_path(&path));
        let created = create_new(&path).and_then(|file| {
            if let Some(ticket_path) = &ticket_path {
                create_new(ticket_path)?.write_all(ticket.encode().as_bytes())?;
            }
            Ok(file)
        });
        let file = match created {
            Ok(file) => file,
            Err(e) => {
                core.cancel_incoming_stream(now, id);
                done.send(Err(file_error(&path, &e))).ok();
                return;
            }
        };
        if resumable {
            core.stage_incoming_stream(now, id);
        }
        self.incoming.insert(id, Incoming::Writing { file, path, written: 0, ticket_path, progress, done });
        for data in held {
            self.write(core, now, id, &data);
        }
        if let Some(result) = ended {
            self.finish(id, result);
        }
    }

    /// Adopts the stream whose ticket lies beside the file at `path`, from the file's length: the
    /// core claims it from its sender; the bytes there are then hashed again
    /// ([`FileStreams::rehash`]) and the sender goes on from there.
    pub fn resume(
        &mut self,
        core: &mut Room<SharedBytes>,
        now: Instant,
        path: PathBuf,
        progress: Option<watch::Sender<u64>>,
        done: Done,
    ) -> Option<Rehash> {
        let ticket_path = ticket_path(&path);
        let ticket = std::fs::read_to_string(&ticket_path).map_err(|e| file_error(&ticket_path, &e)).and_then(|text| {
            StreamTicket::decode(&text).map_err(|e| StreamFailure::Refused(RoomError::Invalid(e.to_string())))
        });
        let opened = ticket.and_then(|ticket| {
            let file = std::fs::OpenOptions::new().read(true).append(true).open(&path);
            let file = file.and_then(|file| Ok((file.metadata()?.len(), file))).map_err(|e| file_error(&path, &e))?;
            Ok((ticket, file))
        });
        let (ticket, (staged, file)) = match opened {
            Ok(opened) => opened,
            Err(failure) => {
                done.send(Err(failure)).ok();
                return None;
            }
        };
        match core.adopt_stream(now, &ticket, staged) {
            Ok(id) => Some(Rehash { id, file, path, staged, progress, done }),
            Err(e) => {
                done.send(Err(StreamFailure::Refused(e))).ok();
                None
            }
        }
    }

    /// Hashes again the bytes on disk of a stream [`FileStreams::resume`] adopted (after the
    /// claim went out, so the sender waits for the answer instead of for the claim), then goes
    /// on writing after them.
    pub fn rehash(&mut self, core: &mut Room<SharedBytes>, now: Instant, job: Rehash) {
        let Rehash { id, mut file, path, staged, progress, done } = job;
        let mut buf = vec![0; REHASH_LEN];
        let mut hashed = 0;
        while hashed < staged {
            let want = REHASH_LEN.min((staged - hashed) as usize);
            if let Err(e) = file.read_exact(&mut buf[..want]) {
                core.cancel_incoming_stream(now, id);
                done.send(Err(file_error(&path, &e))).ok();
                return;
            }
            if let Err(e) = core.stream_rehash(now, id, &SharedBytes::from(&buf[..want])) {
                done.send(Err(StreamFailure::Refused(e))).ok();
                return;
            }
            hashed += want as u64;
        }
        if let Some(progress) = &progress {
            progress.send_replace(staged);
        }
        let ticket_path = Some(ticket_path(&path));
        self.incoming.insert(id, Incoming::Writing { file, path, written: staged, ticket_path, progress, done });
    }

    /// Refuses or stops the offered or taken `stream`.
    pub fn cancel(&mut self, core: &mut Room<SharedBytes>, now: Instant, stream: IncomingStream) {
        let id = IncomingStreamId(stream.0);
        if let Some(incoming) = self.incoming.remove(&id) {
            core.cancel_incoming_stream(now, id);
            if let Incoming::Writing { done, ticket_path, .. } = incoming {
                if let Some(ticket_path) = ticket_path {
                    std::fs::remove_file(ticket_path).ok();
                }
                let error = StreamError::Cancelled { peer: String::new() };
                done.send(Err(StreamFailure::Failed(error))).ok();
            }
        }
    }

    /// A stream event of the core; what to tell the app, if anything.
    pub fn on_event(
        &mut self,
        core: &mut Room<SharedBytes>,
        now: Instant,
        event: Event<SharedBytes>,
    ) -> Option<RoomEvent> {
        let ticket = event.stream_ticket();
        match (event, ticket) {
            (Event::StreamStarted { stream, peer, action, metadata, size, .. }, Some(ticket)) => {
                let offered = self.incoming.iter().filter(|(_, i)| matches!(i, Incoming::Offered { .. }));
                let oldest = offered.clone().map(|(&id, _)| id).min();
                if let (true, Some(oldest)) = (offered.count() >= MAX_OFFERED, oldest) {
                    self.incoming.remove(&oldest);
                    core.cancel_incoming_stream(now, oldest);
                }
                self.incoming.insert(stream, Incoming::Offered { held: Vec::new(), ended: None, ticket });
                let stream = IncomingStream(stream.0);
                return Some(RoomEvent::StreamOffered { stream, peer, action, metadata, size });
            }
            (Event::StreamData { stream, data }, _) => match self.incoming.get_mut(&stream) {
                Some(Incoming::Offered { held, .. }) => held.push(data),
                Some(Incoming::Writing { .. }) => self.write(core, now, stream, &data),
                None => {}
            },
            (Event::StreamEnded { stream, result }, _) => match self.incoming.get_mut(&stream) {
                Some(Incoming::Offered { ended, .. }) => *ended = Some(result),
                Some(Incoming::Writing { .. }) => self.finish(stream, result),
                None => {}
            },
            (Event::StreamSent { stream, result }, _) => {
                if let Some(outgoing) = self.outgoing.remove(&stream) {
                    outgoing.done.send(result.map_err(StreamFailure::Failed)).ok();
                }
            }
            _ => {}
        }
        None
    }

    /// A taken stream ended: its file is synced (or, failing its SHA-256, removed) and the app
    /// told.
    fn finish(&mut self, stream: IncomingStreamId, result: Result<u64, StreamError>) {
        let Some(Incoming::Writing { file, path, ticket_path, done, .. }) = self.incoming.remove(&stream) else {
            return;
        };
        // Only leaving keeps a stream resumable; any other end is final.
        if let Some(ticket_path) = ticket_path.filter(|_| !matches!(result, Err(StreamError::Closed))) {
            std::fs::remove_file(ticket_path).ok();
        }
        let result = match result.map_err(StreamFailure::Failed) {
            Ok(size) => file.sync_all().map(|()| size).map_err(|e| file_error(&path, &e)),
            Err(failure) => {
                if matches!(failure, StreamFailure::Failed(StreamError::Integrity { .. })) {
                    std::fs::remove_file(&path).ok();
                }
                Err(failure)
            }
        };
        done.send(result).ok();
    }

    /// Writes bytes of a taken stream and grants the sender what was written; a failed write
    /// stops the stream.
    fn write(&mut self, core: &mut Room<SharedBytes>, now: Instant, stream: IncomingStreamId, data: &SharedBytes) {
        let Some(Incoming::Writing { file, path, written, progress, .. }) = self.incoming.get_mut(&stream) else {
            return;
        };
        match file.write_all(data.as_slice()) {
            Ok(()) => {
                *written += data.as_slice().len() as u64;
                if let Some(progress) = progress {
                    progress.send_replace(*written);
                }
                core.stream_consumed(now, stream, *written);
            }
            Err(e) => {
                let failure = file_error(path, &e);
                core.cancel_incoming_stream(now, stream);
                if let Some(Incoming::Writing { done, ticket_path, .. }) = self.incoming.remove(&stream) {
                    if let Some(ticket_path) = ticket_path {
                        std::fs::remove_file(ticket_path).ok();
                    }
                    done.send(Err(failure)).ok();
                }
            }
        }
    }
}

/// Bytes of a resumed file hashed again at a time.
const REHASH_LEN: usize = 1024 * 1024;

/// Where the ticket of a resumable stream into `path` is kept.
pub(crate) fn ticket_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TICKET_SUFFIX);
    PathBuf::from(name)
}

/// The suffix of a resumable stream's ticket file.
pub const TICKET_SUFFIX: &str = ".rendez-ticket";

/// A file created for writing, refusing one that exists (or a symbolic link in its place).
fn create_new(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

fn file_error(path: &Path, error: &std::io::Error) -> StreamFailure {
    StreamFailure::File(format!("{}: {error}", path.display()))
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}
