//! `rendez recv CODE`: joins the sender's room, asks (unless `-y`) before taking its files, and
//! writes each under the output directory as it arrives, verified by SHA-256. A sender that
//! announced its files (the command line does; the chat example does not) is done when they all
//! came; otherwise when it leaves. Files are taken resumable: a run interrupted (killed, the
//! machine off the network) and started again within a minute, while the sender still runs,
//! picks each unfinished file up where its bytes on disk end (its ticket lies beside it).

use crate::exit::Failure;
use crate::progress::Progress;
use crate::{code, file_list, Outcome, RoomArgs, FILES_ACTION, MANIFEST_ACTION};
use rendez_core::stream_ticket::StreamTicket;
use rendez_native::{Room, RoomEvent, StreamFailure, TICKET_SUFFIX};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, BufReader};

pub struct Options {
    pub yes: bool,
    pub skip_errors: bool,
}

/// What `rendez send` announces.
#[derive(Deserialize)]
struct Manifest {
    files: u64,
    bytes: u64,
}

/// The chat example's metadata of a file.
#[derive(Deserialize)]
struct FileMetadata {
    name: String,
}

pub async fn run(typed_code: &str, output: &Path, options: Options, args: &RoomArgs) -> Outcome {
    let code = code::parse_code(typed_code).ok_or_else(|| Failure::BadCode(typed_code.to_owned()))?;
    std::fs::create_dir_all(output).map_err(|e| Failure::File(format!("{}: {e}", output.display())))?;
    let mut room = Room::join(args.join_config(), &code).map_err(|e| Failure::Room(e.to_string()))?;
    let unfinished = unfinished(output);
    let sender = crate::send::wait_for_peer(&mut room, args).await?;
    let progress = Progress::new(args.quiet, 0);
    let mut resumed = 0;
    for path in unfinished {
        if resume(&room, &sender, &path, output, &progress, args.quiet).await? {
            resumed += 1;
        }
    }
    let mut expected = None;
    let (mut received, mut failed) = (0, Vec::new());
    let mut answer = BufReader::new(tokio::io::stdin()).lines();
    while expected.is_none_or(|files| received + (failed.len() as u64) < files) {
        let Some(event) = room.next_event().await else { break };
        match event {
            RoomEvent::Message { peer, action, data, .. } if peer == sender && action == MANIFEST_ACTION => {
                let Ok(manifest) = serde_json::from_slice::<Manifest>(&data) else { continue };
                let question = format!("receive {} file(s), {} bytes, from {peer}?", manifest.files, manifest.bytes);
                if !options.yes && !confirm(&mut answer, &question).await {
                    room.leave().await;
                    return Err(Failure::Declined);
                }
                progress.add_total(manifest.bytes);
                expected = Some(manifest.files);
            }
            RoomEvent::StreamOffered { stream, peer, action, metadata, size }
                if peer == sender && action == FILES_ACTION =>
            {
                let name = metadata.and_then(|m| serde_json::from_str::<FileMetadata>(&m).ok()).map(|m| m.name);
                let Some((name, path)) = name.and_then(|n| Some((n.clone(), file_list::destination(output, &n)?)))
                else {
                    room.cancel_stream(stream);
                    failed.push("a file with no name, or one outside the output directory".to_owned());
                    continue;
                };
                if expected.is_none() {
                    if !options.yes && !confirm(&mut answer, &format!("receive {name} from {peer}?")).await {
                        room.cancel_stream(stream);
                        continue;
                    }
                    progress.add_total(size.unwrap_or(0));
                }
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Failure::File(format!("{}: {e}", parent.display())))?;
                }
                let (written, bar) = progress.file(&name, size.unwrap_or(0));
                let result = room.receive_file(stream, &path, true, Some(written)).await;
                bar.await.ok();
                match result {
                    Ok(_) => received += 1,
                    Err(StreamFailure::File(e)) if !options.skip_errors => return Err(Failure::File(e)),
                    Err(e) if !options.skip_errors => return Err(Failure::Transfer(format!("{name}: {e}"))),
                    Err(e) => {
                        progress.println(&format!("skipped {name}: {e}"));
                        failed.push(format!("{name}: {e}"));
                    }
                }
            }
            RoomEvent::PeerLeft { peer } if peer == sender => {
                if expected.is_some() || received + resumed == 0 {
                    failed.push("the sender left before every file came".to_owned());
                }
                break;
            }
            _ => {}
        }
    }
    progress.finish();
    room.leave().await;
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

/// Files under `dir` that an interrupted run left unfinished (with their tickets beside them).
fn unfinished(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Some(data) = path.to_str().and_then(|p| p.strip_suffix(TICKET_SUFFIX)) {
                found.push(PathBuf::from(data));
            }
        }
    }
    found.sort();
    found
}

/// Picks up the unfinished file at `path` if `sender` is the one that was sending it (whether
/// it did); a file of another sender (that run is over) is left as it is, its ticket removed.
async fn resume(
    room: &Room,
    sender: &str,
    path: &Path,
    output: &Path,
    progress: &Progress,
    quiet: bool,
) -> Result<bool, Failure> {
    let ticket_path = PathBuf::from(format!("{}{TICKET_SUFFIX}", path.display()));
    let name = path.strip_prefix(output).unwrap_or(path).display().to_string();
    let ticket = std::fs::read_to_string(&ticket_path).ok().and_then(|text| StreamTicket::decode(&text).ok());
    if ticket.is_none_or(|ticket| ticket.peer != sender) {
        std::fs::remove_file(&ticket_path).ok();
        if !quiet {
            progress.println(&format!("{name}: its sender is gone, it cannot be resumed"));
        }
        return Ok(false);
    }
    let staged = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if !quiet {
        progress.println(&format!("resuming {name} from {staged} bytes"));
    }
    let (written, bar) = progress.file(&name, staged);
    let result = room.resume_file(path, Some(written)).await;
    bar.await.ok();
    result.map(|_| true).map_err(|e| match e {
        StreamFailure::File(e) => Failure::File(e),
        e => Failure::Transfer(format!("{name}: {e}")),
    })
}

/// Asks `question` on the terminal; whether the answer is yes.
async fn confirm(answers: &mut tokio::io::Lines<BufReader<tokio::io::Stdin>>, question: &str) -> bool {
    eprint!("{question} [y/N] ");
    matches!(answers.next_line().await, Ok(Some(line)) if matches!(line.trim(), "y" | "Y" | "yes"))
}
