//! Feeds every decoder that reads peer or relay input with random and mutated inputs for a
//! bounded number of rounds, and reports inputs tried and panics per target. Whole rooms (in a
//! simulated world) get the same treatment: mutated data-channel frames from a connected peer,
//! and mutated relay messages. Exits non-zero on any panic. `FUZZ_INPUTS` sets inputs per target
//! (default 1,000,000); `FUZZ_SEED` the seed.

mod mutator;

use mutator::Mutator;
use rendez_core::crypto::RoomKey;
use rendez_core::frame::{self, Header};
use rendez_core::random::Random;
use rendez_core::reassembly::{Limits, Reassembler};
use rendez_core::signaling::{PeerMessage, SealedOffer};
use rendez_core::strategy::RelayData;
use rendez_core::stream_frame;
use rendez_core::stream_ticket::StreamTicket;
use rendez_core::time::Instant;
use rendez_mqtt::packet::{self as mqtt, Decoder};
use rendez_nostr::event::Keys;
use rendez_nostr::relay_message;
use rendez_sim::{StrategyKind, World};
use rendez_torrent::tracker_message::{self, AnnounceEvent};
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::Duration;

type Target = Box<dyn FnMut(&[u8])>;

fn main() -> ExitCode {
    let inputs: usize = std::env::var("FUZZ_INPUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed);
    panic::set_hook(Box::new(|_| {}));
    let mut failed = false;
    println!("| decoder | inputs | panics |\n| --- | --- | --- |");
    for (name, seeds, mut target) in targets() {
        for valid in &seeds {
            target(valid);
        }
        let mut mutator = Mutator::new(seed, seeds);
        let mut panics = 0;
        for _ in 0..inputs {
            let input = mutator.next_input();
            if panic::catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
                panics += 1;
                if panics == 1 {
                    eprintln!("{name}: first panicking input: {input:02x?}");
                }
            }
        }
        println!("| {name} | {inputs} | {panics} |");
        failed |= panics > 0;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Each decoder with valid seed inputs to mutate.
fn targets() -> Vec<(&'static str, Vec<Vec<u8>>, Target)> {
    let key = RoomKey::derive(None, "fuzz", "room");
    let mut random = Random::seeded(1);
    let sealed = key.seal(&mut random, "v=0 sdp", "ctx");
    let keys = Keys::generate(&mut random);
    let event = keys.sign(
        &mut random,
        1,
        29_371,
        vec![vec!["x".into(), "t".into()]],
        PeerMessage::Presence { from: "A".into(), proof: "P".into() }.encode(),
    );
    let first = frame::encode_data_header(&frame::DataHeader {
        transfer: 1,
        seq: 0,
        start: Some(frame::TransferStart {
            action: "a".into(),
            total: 10,
            kind: frame::PayloadKind::Json,
            metadata: Some("{}".into()),
            purpose: frame::Purpose::Request(3),
        }),
    })
    .unwrap();
    let offers = [SealedOffer { offer_id: "o".into(), sealed_sdp: sealed.clone() }];
    let hash = "h".repeat(20);
    let ticket = StreamTicket {
        peer: "abcdefghijklmnopqrst".into(),
        id: [3; stream_frame::STREAM_ID_LEN],
        action: "file".into(),
        kind: frame::PayloadKind::Binary,
        metadata: Some("{}".into()),
        size: Some(1 << 40),
    };
    let mut reassembler =
        Reassembler::<Vec<u8>>::new(Limits { max_message: 4096, max_in_flight: 8192, max_in_flight_total: 8192 });
    vec![
        (
            "action frame (split + header)",
            vec![
                first.clone(),
                frame::encode_ping(7),
                frame::encode_ack(3),
                stream_frame::encode_claim(&[4; stream_frame::STREAM_ID_LEN]),
                stream_frame::encode_resume(2, 1 << 20),
            ],
            Box::new(|b: &[u8]| {
                if let Ok((head, _)) = frame::split(b) {
                    let _ = frame::decode_header(head);
                }
            }) as Target,
        ),
        (
            "chunk reassembly (stateful)",
            vec![[first.clone(), b"0123456789".to_vec()].concat()],
            Box::new(move |b: &[u8]| {
                if let Ok((head, payload)) = frame::split(b) {
                    if let Ok(Header::Data(h)) = frame::decode_header(head) {
                        let room = reassembler.in_flight();
                        let _ = reassembler.accept(h, payload.to_vec(), payload.len() as u64, room, Instant::ZERO);
                    }
                }
            }),
        ),
        (
            "sealed signaling (open)",
            vec![sealed.into_bytes()],
            Box::new(move |b: &[u8]| {
                let _ = key.open(&String::from_utf8_lossy(b), "ctx");
            }),
        ),
        (
            "stream ticket",
            vec![ticket.encode().into_bytes()],
            Box::new(|b: &[u8]| {
                let _ = StreamTicket::decode(&String::from_utf8_lossy(b));
            }),
        ),
        (
            "peer message (MQTT/Nostr payload)",
            vec![PeerMessage::Offer { from: "A".into(), offer_id: "o".into(), sealed_sdp: "S".into() }
                .encode()
                .into_bytes()],
            Box::new(|b: &[u8]| {
                let _ = PeerMessage::decode(b);
            }),
        ),
        (
            "tracker message",
            vec![tracker_message::encode_announce(&hash, "P", &offers, AnnounceEvent::Started).into_bytes()],
            Box::new(move |b: &[u8]| {
                let _ = tracker_message::decode(&String::from_utf8_lossy(b), &hash);
            }),
        ),
        (
            "MQTT packet stream",
            vec![mqtt::publish("rendez/t", b"{}"), vec![0x20, 2, 0, 0, 0x90, 3, 0, 1, 0]],
            Box::new({
                let mut decoder = Decoder::default();
                move |b: &[u8]| {
                    let _ = decoder.push(b);
                }
            }),
        ),
        (
            "Nostr relay message + event verification",
            vec![serde_json::json!(["EVENT", "s", event]).to_string().into_bytes()],
            Box::new(|b: &[u8]| {
                if let Ok(relay_message::RelayMessage::Event { event, .. }) =
                    relay_message::decode(&String::from_utf8_lossy(b))
                {
                    let _ = event.verify();
                }
            }),
        ),
        (
            "room: frames from a connected peer",
            vec![[first.clone(), b"0123456789".to_vec()].concat(), frame::encode_ping(7), frame::encode_abort(1)],
            room_target(StrategyKind::Torrent, |world, a, b, input| {
                let b_id = world.peer_id(b).to_owned();
                world.send_raw_frame(a, &b_id, input.to_vec());
            }),
        ),
        (
            "room: MQTT broker messages",
            vec![mqtt::publish("rendez/t", br#"{"type":"presence","from":"AAAAAAAAAAAAAAAAAAAA","proof":"P"}"#)],
            room_target(StrategyKind::Mqtt, |world, _, b, input| {
                world.relay_sends(0, b, RelayData::Binary(input.to_vec()))
            }),
        ),
        (
            "room: Nostr relay messages",
            vec![serde_json::json!(["EVENT", "s", event]).to_string().into_bytes()],
            room_target(StrategyKind::Nostr, |world, _, b, input| {
                world.relay_sends(0, b, RelayData::Text(String::from_utf8_lossy(input).into_owned()))
            }),
        ),
    ]
}

/// A target that keeps two connected peers of `kind` in a simulated world, lets `inject` hand
/// each input to them, and runs the world for a millisecond.
fn room_target(kind: StrategyKind, inject: fn(&mut World, usize, usize, &[u8])) -> Target {
    let mut world = World::new(kind, 1);
    let (a, b) = (world.join_default(), world.join_default());
    world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b]));
    Box::new(move |input: &[u8]| {
        inject(&mut world, a, b, input);
        world.run_for(Duration::from_millis(1));
    })
}
