//! A native peer that joins a room, greets each peer that joins on action `hello`, and echoes
//! every other message back to its sender on the same action; a stream it is sent is written to
//! a file in `<dir>` (the system's temporary directory by default), then streamed back from it. It prints what happens, one line
//! each: `self <id>`, `joined <peer>`, `left <peer>`, `message <peer> <action> <text>` (`<n> bytes` for binary payloads),
//! `warning <text>`, `stream <peer> <action> <n> bytes` once a stream arrived whole and verified,
//! `streamed <peer> <action> <n> bytes` once it went back whole. It leaves the room when its
//! standard input ends.
//!
//! `cargo run -p rendez-native --example echo -- <torrent|nostr|mqtt> <relay URL> <app id> <room id> [<dir>]`

use rendez_native::{JoinConfig, PayloadKind, Room, RoomEvent, StrategyKind};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (strategy, relay, app_id, room_id, dir) = match args.as_slice() {
        [strategy, relay, app_id, room_id] => (strategy, relay, app_id, room_id, std::env::temp_dir()),
        [strategy, relay, app_id, room_id, dir] => (strategy, relay, app_id, room_id, dir.into()),
        _ => return Err("usage: echo <torrent|nostr|mqtt> <relay URL> <app id> <room id> [<dir>]".into()),
    };
    let strategy = match strategy.as_str() {
        "torrent" => StrategyKind::Torrent,
        "nostr" => StrategyKind::Nostr,
        "mqtt" => StrategyKind::Mqtt,
        other => return Err(format!("unknown strategy {other}").into()),
    };
    let mut room = Room::join(JoinConfig::new(app_id.as_str(), strategy, vec![relay.clone()]), room_id)?;
    println!("self {}", room.self_id());
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    let mut received = 0;
    loop {
        let event = tokio::select! {
            line = input.next_line() => match line {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => break,
            },
            event = room.next_event() => match event {
                Some(event) => event,
                None => break,
            },
        };
        match event {
            RoomEvent::PeerJoined { peer } => {
                println!("joined {peer}");
                let greeting = format!("\"hello from {}\"", room.self_id()).into_bytes();
                if let Err(e) = room.send("hello", greeting, Some(vec![peer])).await {
                    println!("warning greeting failed: {e}");
                }
            }
            RoomEvent::PeerLeft { peer } => println!("left {peer}"),
            RoomEvent::Message { peer, action, kind, data, .. } => {
                match kind {
                    PayloadKind::Binary => println!("message {peer} {action} {} bytes", data.len()),
                    _ => println!("message {peer} {action} {}", String::from_utf8_lossy(&data)),
                }
                if action == "hello" {
                    continue;
                }
                if let Err(e) = room.send_kind(&action, kind, data, Some(vec![peer])).await {
                    println!("warning echo failed: {e}");
                }
            }
            RoomEvent::StreamOffered { stream, peer, action, .. } => {
                received += 1;
                let path = dir.join(format!("echo-{}-{received}.bin", room.self_id()));
                let echoed = match room.receive_file(stream, &path, false, None).await {
                    Ok(size) => {
                        println!("stream {peer} {action} {size} bytes");
                        room.send_file(&peer, &action, &path, None, None).await
                    }
                    Err(e) => Err(e),
                };
                match echoed {
                    Ok(size) => println!("streamed {peer} {action} {size} bytes"),
                    Err(e) => println!("warning stream failed: {e}"),
                }
                std::fs::remove_file(&path).ok();
            }
            RoomEvent::Warning(warning) => println!("warning {warning}"),
            _ => {}
        }
    }
    room.leave().await;
    println!("left the room");
    Ok(())
}
