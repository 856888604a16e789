//! Payloads: chunking and acks, refusals, ack timeouts with an abort, unfinished incoming
//! transfers that expire or are aborted, and the rate limits on what a hostile peer makes us
//! log and send.

use rendez_core::frame::{encode_abort, encode_data_header, DataHeader, PayloadKind, TransferStart};
use rendez_core::reassembly::Limits;
use rendez_core::room::{SendError, ACK_TIMEOUT, TRANSFER_IDLE_TIMEOUT};
use rendez_sim::{Options, StrategyKind, World};
use std::time::Duration;

fn pair(seed: u64, b_limits: Limits) -> (World, usize, usize) {
    let mut world = World::new(StrategyKind::Torrent, seed);
    let a = world.join_default();
    let b = world.join(Options { limits: b_limits, ..Default::default() });
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
    (world, a, b)
}

/// A frame of a transfer of `total` bytes carrying `payload`, chunk `seq`.
fn chunk(transfer: u32, seq: u32, total: u64, payload: &[u8]) -> Vec<u8> {
    let start = (seq == 0).then(|| TransferStart {
        action: "x".into(),
        total,
        kind: PayloadKind::Binary,
        metadata: None,
        purpose: Default::default(),
    });
    let mut frame = encode_data_header(&DataHeader { transfer, seq, start }).unwrap();
    frame.extend_from_slice(payload);
    frame
}

#[test]
fn a_large_payload_is_chunked_acked_and_arrives_intact() {
    let (mut world, a, b) = pair(20, Limits::default());
    let payload: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let send = world.send(a, "file", &payload, None).unwrap();
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.log(b).received.len(), 1);
    assert_eq!(world.log(b).received[0].bytes, payload);
    assert!(world.log(b).receive_progress >= 10 && world.log(a).send_progress >= 11);
    assert_eq!(world.log(a).sends[&send], Ok(1));
}

#[test]
fn a_payload_over_the_receivers_limit_is_refused() {
    let limits = Limits { max_message: 1000, ..Limits::default() };
    let (mut world, a, b) = pair(21, limits);
    let send = world.send(a, "x", &[7; 2000], None).unwrap();
    world.run_for(Duration::from_millis(100));
    let b_id = world.peer_id(b).to_owned();
    assert_eq!(world.log(a).sends[&send], Err(SendError::Refused { peer: b_id }));
    assert!(world.log(b).warnings.iter().any(|w| w.contains("2000 bytes exceeds the 1000-byte limit")));
}

#[test]
fn an_unacknowledged_transfer_times_out_and_is_aborted() {
    let (mut world, a, b) = pair(22, Limits::default());
    // b receives everything and answers pings, but its acks are lost.
    world.frame_filter = Some(Box::new(move |from, frame| !(from == b && frame.get(2) == Some(&4))));
    let send = world.send(a, "x", b"lost ack", None).unwrap();
    world.run_for(ACK_TIMEOUT - Duration::from_millis(100));
    assert!(!world.log(a).sends.contains_key(&send), "still waiting");
    let frames_before = world.stats(a).frames_sent;
    world.run_for(Duration::from_millis(200));
    assert_eq!(world.log(a).sends[&send], Err(SendError::Timeout { peer: world.peer_id(b).to_owned() }));
    assert!(world.stats(a).frames_sent > frames_before, "the abort went out");
    assert!(world.log(a).left.is_empty(), "the peer itself is fine");
}

#[test]
fn unfinished_incoming_transfers_expire_or_are_aborted_and_free_their_memory() {
    let limits = Limits { max_in_flight: 1600, ..Limits::default() };
    let (mut world, a, b) = pair(23, limits);
    let b_id = world.peer_id(b).to_owned();
    // a sends half of a transfer and stops: it holds about 1000 of b's 1600 in-flight bytes.
    world.send_raw_frame(a, &b_id, chunk(900, 0, 2000, &[1; 1000]));
    world.send_raw_frame(a, &b_id, chunk(901, 0, 2000, &[1; 600]));
    world.run_for(Duration::from_millis(100));
    assert!(world.log(b).warnings.iter().any(|w| w.contains("in-flight limit")), "{:?}", world.log(b).warnings);
    // Nothing more comes: the transfer is dropped after the idle timeout, and the bytes are free.
    world.run_for(TRANSFER_IDLE_TIMEOUT);
    assert!(
        world.log(b).warnings.iter().any(|w| w.contains("nothing arrived for 30 s")),
        "{:?}",
        world.log(b).warnings
    );
    world.send_raw_frame(a, &b_id, chunk(902, 0, 1400, &[1; 700]));
    world.send_raw_frame(a, &b_id, chunk(902, 1, 0, &[1; 700]));
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(b).received.len(), 1, "a whole payload fits again");
    // A sender that gives up says so, and the receiver frees the bytes at once.
    world.send_raw_frame(a, &b_id, chunk(903, 0, 2000, &[1; 1000]));
    world.send_raw_frame(a, &b_id, encode_abort(903));
    world.send_raw_frame(a, &b_id, chunk(904, 0, 1400, &[2; 700]));
    world.send_raw_frame(a, &b_id, chunk(904, 1, 0, &[2; 700]));
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(b).received.len(), 2);
    assert_eq!(world.log(b).received[1].bytes, [2; 1400]);
}

#[test]
fn what_a_hostile_peer_makes_us_log_and_send_is_rate_limited() {
    let (mut world, a, b) = pair(24, Limits::default());
    let b_id = world.peer_id(b).to_owned();
    world.run_for(Duration::from_millis(1));
    let frames_before = world.stats(b).frames_sent;
    for i in 0..1000 {
        world.send_raw_frame(a, &b_id, vec![0, 3, 1, 0, 0]); // a truncated data header
        world.send_raw_frame(a, &b_id, chunk(5000 + i, 7, 0, b"x")); // a chunk of an unknown transfer
    }
    world.run_for(Duration::from_millis(100));
    let warnings = world.log(b).warnings.len();
    assert!((20..=22).contains(&warnings), "{warnings} warnings: {:?}", world.log(b).warnings);
    assert!(world.log(b).warnings.iter().any(|w| w.contains("further warnings about it are held back")));
    let rejects = world.stats(b).frames_sent - frames_before;
    assert!((20..=22).contains(&rejects), "{rejects} rejects");
    // The budget refills slowly, and the peer stays connected.
    world.run_for(Duration::from_secs(60));
    for i in 0..1000 {
        world.send_raw_frame(a, &b_id, chunk(9000 + i, 7, 0, b"x"));
    }
    world.run_for(Duration::from_millis(100));
    assert!(world.log(b).warnings.len() - warnings <= 13, "{}", world.log(b).warnings.len() - warnings);
    assert!(world.full_mesh(&[a, b]));
}

#[test]
fn a_transfer_over_a_slow_link_keeps_both_peers_alive_and_completes() {
    let (mut world, a, b) = pair(25, Limits::default());
    // 100 KiB/s each way: 12 MiB take two minutes, and the sender's buffer holds 80 s of data.
    world.bandwidth = Some(100 * 1024);
    let payload = vec![9u8; 12 * 1024 * 1024];
    let send = world.send(a, "slow", &payload, None).unwrap();
    assert!(world.run_until(Duration::from_secs(400), |w| w.log(a).sends.contains_key(&send)));
    assert_eq!(world.log(a).sends[&send], Ok(1));
    assert_eq!(world.log(b).received[0].bytes.len(), payload.len());
    assert!(world.log(a).left.is_empty() && world.log(b).left.is_empty(), "{:?}", world.log(a).warnings);
}
