//! `rendez recv CODE`: joins the sender's room, asks (unless `-y`) before taking its files, and
//! writes each under the output directory as it arrives, verified by SHA-256. The sender is the
//! first peer that announces files (a manifest, as the command line sends) or offers one (as the
//! chat example does); other peers' offers are refused. A sender with a manifest is done when
//! its files all came; one without, when it leaves after sending some. A sender that drops out
//! is waited for a minute.
//!
//! Each file arrives as `<name>.part` (a new file: nothing that exists is overwritten, and no
//! directory outside the output one is written through a symbolic link), its ticket beside it,
//! and takes its name once verified. A run interrupted (killed, or off the network) and started
//! again within a minute, while the sender still runs, picks each unfinished file up where its
//! bytes on disk end.

use crate::exit::Failure;
use crate::progress::Progress;
use crate::{code, file_list, Outcome, RoomArgs, FILES_ACTION, MANIFEST_ACTION};
use rendez_core::stream_ticket::StreamTicket;
use rendez_native::{IncomingStream, Room, RoomEvent, StreamFailure, TICKET_SUFFIX};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;

pub struct Options {
    pub yes: bool,
    pub skip_errors: bool,
}

/// What `rendez send` announces.
#[derive(Deserialize)]
struct Manifest {
    files: u64,
    bytes: u64,
    #[serde(default)]
    names: Vec<String>,
}

/// The chat example's metadata of a file.
#[derive(Deserialize)]
struct FileMetadata {
    name: String,
}

/// The suffix of a file still arriving.
const PART: &str = ".part";
/// How long a sender that dropped out is waited for (as long as its streams wait for us).
const SENDER_RETURN_WAIT: Duration = Duration::from_secs(60);
/// Names of a manifest shown when asking.
const NAMES_SHOWN: usize = 10;

type Answers = tokio::io::Lines<BufReader<tokio::io::Stdin>>;

/// One run's state.
struct Receiving<'a> {
    room: Room,
    output: &'a Path,
    options: Options,
    progress: Progress,
    answers: Answers,
    sender: Option<String>,
    /// Files the sender's latest manifest announced.
    expected: Option<u64>,
    received: u64,
    resumed: u64,
    failed: Vec<String>,
}

pub async fn run(typed_code: &str, output: &Path, options: Options, args: &RoomArgs) -> Outcome {
    let code = code::parse_code(typed_code).ok_or_else(|| Failure::BadCode(typed_code.to_owned()))?;
    std::fs::create_dir_all(output).map_err(|e| Failure::File(format!("{}: {e}", output.display())))?;
    let output = output.canonicalize().map_err(|e| Failure::File(format!("{}: {e}", output.display())))?;
    let mut room = Room::join(args.join_config(), &code).map_err(|e| Failure::Room(e.to_string()))?;
    let first = crate::send::wait_for_peer(&mut room, args).await?;
    let answers = BufReader::new(tokio::io::stdin()).lines();
    let progress = Progress::new(args.quiet, 0);
    let mut receiving = Receiving {
        room,
        output: &output,
        options,
        progress,
        answers,
        sender: None,
        expected: None,
        received: 0,
        resumed: 0,
        failed: Vec::new(),
    };
    receiving.resume_unfinished(&first, args.quiet).await;
    let outcome = receiving.receive(args).await;
    let Receiving { room, progress, received, resumed, failed, .. } = receiving;
    progress.finish();
    room.leave().await;
    outcome?;
    if !failed.is_empty() {
        return Err(Failure::Transfer(failed.join("; ")));
    }
    if !args.quiet {
        let count = received + resumed;
        let s = if count == 1 { "" } else { "s" };
        progress.println(&format!("received {count} file{s} into {} ({resumed} resumed), verified", output.display()));
    }
    Ok(())
}

impl Receiving<'_> {
    /// Takes files until the sender is done.
    async fn receive(&mut self, args: &RoomArgs) -> Outcome {
        let mut deadline = Some(Instant::now() + args.wait());
        while self.expected.is_none_or(|files| self.received + (self.failed.len() as u64) < files) {
            let event = match deadline {
                Some(at) => match tokio::time::timeout_at(at, self.room.next_event()).await {
                    Ok(event) => event,
                    Err(_) if self.sender.is_none() => return Err(Failure::NoPeer { waited_secs: args.wait }),
                    Err(_) => return Err(Failure::Transfer("the sender left before every file came".to_owned())),
                },
                None => self.room.next_event().await,
            };
            let Some(event) = event else { break };
            match event {
                RoomEvent::Message { peer, action, data, .. } if action == MANIFEST_ACTION && self.is_sender(&peer) => {
                    let Ok(manifest) = serde_json::from_slice::<Manifest>(&data) else { continue };
                    self.sender = Some(peer);
                    deadline = None;
                    self.on_manifest(manifest).await?;
                }
                RoomEvent::StreamOffered { stream, peer, action, metadata, size } => {
                    if action != FILES_ACTION || !self.is_sender(&peer) {
                        self.room.cancel_stream(stream);
                        continue;
                    }
                    self.sender = Some(peer);
                    deadline = None;
                    self.take(stream, metadata, size).await?;
                }
                RoomEvent::PeerLeft { peer } if self.sender.as_ref() == Some(&peer) => {
                    if self.expected.is_none() && self.received + self.resumed > 0 {
                        break;
                    }
                    deadline = Some(Instant::now() + SENDER_RETURN_WAIT);
                }
                RoomEvent::PeerJoined { peer } if self.sender.as_ref() == Some(&peer) => deadline = None,
                _ => {}
            }
        }
        Ok(())
    }

    fn is_sender(&self, peer: &str) -> bool {
        self.sender.as_deref().is_none_or(|sender| sender == peer)
    }

    async fn on_manifest(&mut self, manifest: Manifest) -> Outcome {
        let mut names: Vec<&str> = manifest.names.iter().map(String::as_str).take(NAMES_SHOWN).collect();
        if manifest.files > names.len() as u64 {
            names.push("…");
        }
        let question = format!("receive {} file(s), {} bytes ({})?", manifest.files, manifest.bytes, names.join(", "));
        if !self.options.yes && !confirm(&mut self.answers, &question).await {
            return Err(Failure::Declined);
        }
        self.progress.add_total(manifest.bytes);
        self.expected = Some(manifest.files);
        // A new manifest (from a sender that saw us come back) counts from here.
        self.received = 0;
        self.failed.clear();
        Ok(())
    }

    /// Takes an offered file, or refuses it (a name that may not be written, or declined).
    async fn take(&mut self, stream: IncomingStream, metadata: Option<String>, size: Option<u64>) -> Outcome {
        let name = metadata.and_then(|m| serde_json::from_str::<FileMetadata>(&m).ok()).map(|m| m.name);
        let Some((name, path)) = name.and_then(|n| Some((n.clone(), self.destination(&n)?))) else {
            self.room.cancel_stream(stream);
            return self.fail(
                "a file".to_owned(),
                Failure::File("a file with no name, or one that may not be written in the output directory".to_owned()),
            );
        };
        if self.expected.is_none() {
            if !self.options.yes && !confirm(&mut self.answers, &format!("receive {name}?")).await {
                self.room.cancel_stream(stream);
                return Ok(());
            }
            self.progress.add_total(size.unwrap_or(0));
        }
        let part = part_path(&path);
        let (written, bar) = self.progress.file(&name, size.unwrap_or(0));
        let result = self.room.receive_file(stream, &part, true, Some(written)).await;
        bar.await.ok();
        match result.map_err(|e| match e {
            StreamFailure::File(e) => Failure::File(e),
            e => Failure::Transfer(format!("{name}: {e}")),
        }) {
            Ok(_) => {
                finish(&part, &path).map_err(Failure::File)?;
                self.received += 1;
                Ok(())
            }
            Err(failure) => self.fail(name, failure),
        }
    }

    /// Records a failed file: fatal unless `--skip-errors`.
    fn fail(&mut self, name: String, failure: Failure) -> Outcome {
        if !self.options.skip_errors {
            return Err(failure);
        }
        self.progress.println(&format!("skipped {name}: {failure}"));
        self.failed.push(failure.to_string());
        Ok(())
    }

    /// Where a file named `name` may be written: inside the output directory (its parent, made
    /// if missing, is no symbolic link out of it), neither existing nor named like a part or a
    /// ticket.
    fn destination(&self, name: &str) -> Option<PathBuf> {
        if name.ends_with(PART) || name.ends_with(TICKET_SUFFIX) {
            return None;
        }
        let path = file_list::destination(self.output, name)?;
        let parent = path.parent()?;
        std::fs::create_dir_all(parent).ok()?;
        let inside = parent.canonicalize().ok()?.starts_with(self.output);
        let free = !path.exists() && !part_path(&path).exists() && std::fs::symlink_metadata(&path).is_err();
        (inside && free).then_some(path)
    }

    /// Picks up the unfinished files an interrupted run left whose sender is `peer`; others'
    /// (their run is over) are dropped, as is one that cannot be picked up.
    async fn resume_unfinished(&mut self, peer: &str, quiet: bool) {
        for part in unfinished(self.output) {
            let ticket_path = PathBuf::from(format!("{}{TICKET_SUFFIX}", part.display()));
            let name = part.strip_prefix(self.output).unwrap_or(&part).display().to_string();
            let name = name.strip_suffix(PART).unwrap_or(&name).to_owned();
            let ticket = std::fs::read_to_string(&ticket_path).ok().and_then(|text| StreamTicket::decode(&text).ok());
            if ticket.is_none_or(|ticket| ticket.peer != peer) {
                drop_unfinished(&part);
                if !quiet {
                    self.progress.println(&format!("{name}: its sender is gone, it cannot be picked up"));
                }
                continue;
            }
            let staged = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
            if !quiet {
                self.progress.println(&format!("resuming {name} from {staged} bytes"));
            }
            self.sender = Some(peer.to_owned());
            let (written, bar) = self.progress.file(&name, staged);
            let result = self.room.resume_file(&part, Some(written)).await;
            bar.await.ok();
            let path = self.output.join(&name);
            match result.map_err(|e| e.to_string()).and_then(|_| finish(&part, &path)) {
                Ok(()) => self.resumed += 1,
                Err(e) => {
                    drop_unfinished(&part);
                    self.progress.println(&format!("{name} cannot be picked up ({e}); it has to be sent again"));
                }
            }
        }
    }
}

/// Where a file arrives before it is verified.
fn part_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}{PART}", path.display()))
}

/// Gives a verified part its name (a hard link, so a file that appeared meanwhile is not
/// replaced), then removes the part.
fn finish(part: &Path, path: &Path) -> Result<(), String> {
    std::fs::hard_link(part, path).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::remove_file(part).map_err(|e| format!("{}: {e}", part.display()))
}

/// Removes an unfinished part and its ticket.
fn drop_unfinished(part: &Path) {
    std::fs::remove_file(part).ok();
    std::fs::remove_file(format!("{}{TICKET_SUFFIX}", part.display())).ok();
}

/// The parts under `dir` that an interrupted run left with their tickets (symbolic links are not
/// followed).
fn unfinished(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                dirs.push(path);
            } else if let Some(part) = path.to_str().and_then(|p| p.strip_suffix(TICKET_SUFFIX)) {
                if part.ends_with(PART) {
                    found.push(PathBuf::from(part));
                }
            }
        }
    }
    found.sort();
    found
}

/// Asks `question` on the terminal; whether the answer is yes.
async fn confirm(answers: &mut Answers, question: &str) -> bool {
    eprint!("{question} [y/N] ");
    matches!(answers.next_line().await, Ok(Some(line)) if matches!(line.trim(), "y" | "Y" | "yes"))
}
