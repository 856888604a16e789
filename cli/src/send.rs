//! `rendez send`: waits for the first peer of a fresh room, tells it what comes (a manifest),
//! then streams the files one after another.

use crate::exit::Failure;
use crate::progress::Progress;
use crate::{code, file_list, Outcome, RoomArgs, Strategy, FILES_ACTION, MANIFEST_ACTION};
use rendez_native::{Room, RoomEvent};
use serde_json::json;
use std::path::PathBuf;

pub async fn run(paths: &[PathBuf], recursive: bool, chat_url: &str, args: &RoomArgs) -> Outcome {
    let files = file_list::collect(paths, recursive)?;
    let total: u64 = files.iter().map(|f| f.size).sum();
    let code = code::new_code();
    let mut room = Room::join(args.join_config(), &code).map_err(|e| Failure::Room(e.to_string()))?;
    if args.quiet {
        println!("{code}");
    } else {
        println!(
            "{} file{}, {total} bytes. On the other side run:",
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        );
        println!("  rendez recv {code}");
        match chat_link(chat_url, &code, args) {
            Some(link) => println!("or open {link}"),
            None => {
                println!("(the chat example meets through trackers only: send with --strategy torrent to reach it)")
            }
        }
    }
    let mut peer = wait_for_peer(&mut room, args).await?;
    announce(&room, &peer, &files).await?;
    let progress = Progress::new(args.quiet, total);
    let mut read = 0;
    for (i, file) in files.iter().enumerate() {
        // A receiver that came back (its run interrupted and started again) takes the rest; it
        // picks up the file it was in the middle of by itself.
        if let Some(next) = receiver_now(&mut room, &peer, args).await? {
            peer = next;
            announce(&room, &peer, &files[i..]).await?;
        }
        let (sent, bar) = progress.file(&file.name, file.size);
        let mut reads = sent.subscribe();
        let metadata = json!({ "name": file.name, "size": file.size }).to_string();
        let result = room.send_file(&peer, FILES_ACTION, &file.path, Some(metadata), Some(sent)).await;
        read += *reads.borrow_and_update();
        bar.await.ok();
        if let Err(e) = result {
            return Err(match e {
                rendez_native::StreamFailure::File(e) => Failure::File(e),
                e => Failure::Transfer(format!("{}: {e}", file.name)),
            });
        }
    }
    progress.finish();
    if !args.quiet {
        let s = if files.len() == 1 { "" } else { "s" };
        progress.println(&format!(
            "sent {} file{s}, verified ({read} bytes read, {} sent again)",
            files.len(),
            read.saturating_sub(total)
        ));
    }
    room.leave().await;
    Ok(())
}

/// The chat example's page in the room of `code`, with the tracker given, if any (the page meets
/// through trackers only).
fn chat_link(chat_url: &str, code: &str, args: &RoomArgs) -> Option<String> {
    if !matches!(args.strategy, Strategy::Torrent) {
        return None;
    }
    let tracker = args.relays.first().map(|url| format!("&tracker={}", query_escaped(url))).unwrap_or_default();
    Some(format!("{chat_url}?code={code}{tracker}"))
}

/// `text` as a URL query value: what is not unreserved, percent-encoded.
fn query_escaped(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Names a manifest lists, at most (the receiver shows the first ones when it asks).
const MANIFEST_NAMES: usize = 100;

/// Tells `peer` how many files come, their total size and their first names.
async fn announce(room: &Room, peer: &str, files: &[file_list::Outgoing]) -> Result<(), Failure> {
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).take(MANIFEST_NAMES).collect();
    let manifest = json!({ "files": files.len(), "bytes": bytes, "names": names }).to_string().into_bytes();
    room.send(MANIFEST_ACTION, manifest, Some(vec![peer.to_owned()]))
        .await
        .map(|_| ())
        .map_err(|e| Failure::Transfer(format!("the manifest did not reach {peer}: {e}")))
}

/// The receiver to send the next file to, if it is no longer `peer`: once `peer` left (and did
/// not come back), the last peer that joined since and is still here, or the next to join within
/// the wait (a receiver whose run was interrupted comes back under a new id). Streams offered to
/// us are refused.
async fn receiver_now(room: &mut Room, peer: &str, args: &RoomArgs) -> Result<Option<String>, Failure> {
    let (mut present, mut left) = (Vec::new(), false);
    while let Some(event) = room.try_next_event() {
        match event {
            RoomEvent::PeerJoined { peer: joined } if joined == peer => left = false,
            RoomEvent::PeerJoined { peer: joined } => present.push(joined),
            RoomEvent::PeerLeft { peer: gone } if gone == peer => left = true,
            RoomEvent::PeerLeft { peer: gone } => present.retain(|p| *p != gone),
            RoomEvent::StreamOffered { stream, .. } => room.cancel_stream(stream),
            _ => {}
        }
    }
    match (left, present.pop()) {
        (false, _) => Ok(None),
        (true, Some(next)) => Ok(Some(next)),
        (true, None) => wait_for_peer(room, args).await.map(Some),
    }
}

/// The first peer to join, within the wait.
pub async fn wait_for_peer(room: &mut Room, args: &RoomArgs) -> Result<String, Failure> {
    let deadline = tokio::time::Instant::now() + args.wait();
    loop {
        match tokio::time::timeout_at(deadline, room.next_event()).await {
            Ok(Some(RoomEvent::PeerJoined { peer })) => return Ok(peer),
            Ok(Some(_)) => {}
            Ok(None) => return Err(Failure::Room("the room stopped".to_owned())),
            Err(_) => return Err(Failure::NoPeer { waited_secs: args.wait }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::query_escaped;

    #[test]
    fn relay_urls_are_escaped_for_the_link() {
        assert_eq!(query_escaped("ws://127.0.0.1:8000/a b"), "ws%3A%2F%2F127.0.0.1%3A8000%2Fa%20b");
    }
}
