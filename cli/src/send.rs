//! `rendez send`: waits for the first peer of a fresh room, tells it what comes (a manifest),
//! then streams the files one after another.

use crate::exit::Failure;
use crate::progress::Progress;
use crate::{code, file_list, Outcome, RoomArgs, FILES_ACTION, MANIFEST_ACTION};
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
        println!("or open {chat_url}?code={code}");
    }
    let peer = wait_for_peer(&mut room, args).await?;
    let manifest = json!({ "files": files.len(), "bytes": total }).to_string().into_bytes();
    room.send(MANIFEST_ACTION, manifest, Some(vec![peer.clone()]))
        .await
        .map_err(|e| Failure::Transfer(format!("the manifest did not reach {peer}: {e}")))?;
    let progress = Progress::new(args.quiet, total);
    for file in &files {
        let (sent, bar) = progress.file(&file.name, file.size);
        let metadata = json!({ "name": file.name, "size": file.size }).to_string();
        let result = room.send_file(&peer, FILES_ACTION, &file.path, Some(metadata), Some(sent)).await;
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
        progress.println(&format!("sent {} file{}, verified", files.len(), if files.len() == 1 { "" } else { "s" }));
    }
    room.leave().await;
    Ok(())
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
