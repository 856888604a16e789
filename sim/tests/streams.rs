//! Streamed transfers: read as the receiver makes room, verified end to end, and ended cleanly by
//! either side, by the peer leaving, by a faulty source or path, or by a peer breaking the
//! protocol.

use rendez_core::frame::PayloadKind;
use rendez_core::room::{
    IncomingStreamId, RoomError, StreamError, StreamId, ACK_TIMEOUT, READ_AHEAD, READ_LEN, RESUME_WAIT, STREAM_WINDOW,
};
use rendez_core::stream_frame::{encode_data, encode_open, StreamOpen, STREAM_ID_LEN};
use rendez_core::stream_ticket::StreamTicket;
use rendez_sim::{IncomingLog, StrategyKind, World};
use std::time::Duration;

const MIB: usize = 1024 * 1024;

fn pair(seed: u64) -> (World, usize, usize) {
    let mut world = World::new(StrategyKind::Mqtt, seed);
    let (a, b) = (world.join_default(), world.join_default());
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
    (world, a, b)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn a_stream_larger_than_the_window_arrives_whole_and_verified() {
    for announce_size in [true, false] {
        let (mut world, a, b) = pair(1);
        let payload = pattern(40 * MIB + 12_345);
        let stream = world.send_stream(a, b, "file", payload.clone(), announce_size).unwrap();
        world.run_for(Duration::from_secs(5));
        assert_eq!(world.log(a).streams_sent.get(&stream), Some(&Ok(payload.len() as u64)));
        let incoming = world.log(b).streams.values().next().expect("b saw the stream");
        assert_eq!(incoming.result, Some(Ok(payload.len() as u64)));
        assert_eq!(incoming.size, announce_size.then_some(payload.len() as u64));
        assert_eq!(incoming.action, "file");
        assert!(incoming.bytes == payload, "the bytes arrived in order, unchanged");
        let reads = world.stream_reads(a);
        assert!(reads <= (payload.len() as u64).div_ceil(READ_LEN) + 1, "{reads} reads");
    }
}

#[test]
fn a_slow_sink_holds_the_sender_to_the_window() {
    let (mut world, a, b) = pair(2);
    world.hold_streams(b, true);
    let payload = pattern(64 * MIB);
    let stream = world.send_stream(a, b, "file", payload.clone(), true).unwrap();
    // Longer than the wait for the receiver to take the stream: its first credit did.
    world.run_for(ACK_TIMEOUT + Duration::from_secs(10));
    let (&incoming, log) = world.log(b).streams.iter().next().unwrap();
    assert_eq!(log.bytes.len() as u64, STREAM_WINDOW, "the sender stops at the window");
    let read = world.stream_reads(a) * READ_LEN;
    assert!(read <= STREAM_WINDOW + READ_AHEAD, "the sender read {read} bytes ahead of the sink");
    assert!(world.log(a).streams_sent.is_empty());
    // The sink drains: the rest follows.
    for _ in 0..64 {
        world.consume(b, incoming, MIB as u64);
        world.run_for(Duration::from_millis(50));
    }
    world.run_for(Duration::from_secs(2));
    assert_eq!(world.log(a).streams_sent.get(&stream), Some(&Ok(payload.len() as u64)));
    let log = &world.log(b).streams[&incoming];
    assert_eq!(log.result, Some(Ok(payload.len() as u64)));
    assert!(log.most_unconsumed <= STREAM_WINDOW, "{} bytes waited for the sink", log.most_unconsumed);
    assert!(log.bytes == payload);
}

#[test]
fn a_byte_changed_on_the_way_fails_the_integrity_check_on_both_sides() {
    let (mut world, a, b) = pair(3);
    let mut corrupted = false;
    world.frame_corrupter = Some(Box::new(move |_, frame: &mut Vec<u8>| {
        // A stream data frame with payload: flip its last byte, once.
        if !corrupted && frame.get(2) == Some(&14) && frame.len() > 1000 {
            *frame.last_mut().unwrap() ^= 0xff;
            corrupted = true;
        }
    }));
    let stream = world.send_stream(a, b, "file", pattern(3 * MIB), true).unwrap();
    world.run_for(Duration::from_secs(3));
    let peer_b = world.peer_id(b).to_owned();
    assert_eq!(world.log(a).streams_sent.get(&stream), Some(&Err(StreamError::Integrity { peer: peer_b })));
    let incoming = world.log(b).streams.values().next().unwrap();
    assert!(matches!(incoming.result, Some(Err(StreamError::Integrity { .. }))), "{:?}", incoming.result);
    assert_eq!(incoming.result.as_ref().unwrap().as_ref().unwrap_err().code(), "integrity");
}

#[test]
fn the_receiver_cancelling_stops_the_sender_at_once() {
    let (mut world, a, b) = pair(4);
    world.hold_streams(b, true);
    let stream = world.send_stream(a, b, "file", pattern(64 * MIB), true).unwrap();
    world.run_for(Duration::from_millis(500));
    let incoming = *world.log(b).streams.keys().next().unwrap();
    world.cancel_incoming_stream(b, incoming);
    world.run_for(Duration::from_millis(100));
    let peer_b = world.peer_id(b).to_owned();
    assert_eq!(world.log(a).streams_sent.get(&stream), Some(&Err(StreamError::Cancelled { peer: peer_b })));
    let reads = world.stream_reads(a);
    world.run_for(Duration::from_secs(5));
    assert_eq!(world.stream_reads(a), reads, "no read after the cancel");
    assert_eq!(world.log(b).streams[&incoming].result, None, "the app that cancelled is not told again");
}

#[test]
fn the_sender_aborting_ends_the_receivers_stream() {
    let (mut world, a, b) = pair(5);
    world.hold_streams(b, true);
    let stream = world.send_stream(a, b, "file", pattern(64 * MIB), true).unwrap();
    world.run_for(Duration::from_millis(500));
    world.abort_stream(a, stream);
    world.run_for(Duration::from_millis(100));
    let peer_a = world.peer_id(a).to_owned();
    let incoming = world.log(b).streams.values().next().unwrap();
    assert_eq!(incoming.result, Some(Err(StreamError::Aborted { peer: peer_a })));
    assert!(matches!(world.log(a).streams_sent.get(&stream), Some(Err(StreamError::Aborted { .. }))));
}

#[test]
fn a_peer_leaving_mid_stream_ends_it_on_both_sides() {
    let (mut world, a, b) = pair(6);
    world.hold_streams(b, true);
    let stream = world.send_stream(a, b, "file", pattern(64 * MIB), true).unwrap();
    world.run_for(Duration::from_millis(500));
    world.leave(b);
    world.run_for(Duration::from_millis(200));
    let incoming = world.log(b).streams.values().next().unwrap();
    assert_eq!(incoming.result, Some(Err(StreamError::Closed)));
    // The peer that left said so: no wait for it to come back.
    let peer_b = world.peer_id(b).to_owned();
    assert_eq!(world.log(a).streams_sent.get(&stream), Some(&Err(StreamError::Left { peer: peer_b })));
}

#[test]
fn a_source_shorter_than_announced_fails_and_the_receiver_is_told() {
    let (mut world, a, b) = pair(7);
    // Announce 2 MiB, hold 1 MiB: the source ends early.
    let stream = world.send_stream(a, b, "file", pattern(MIB), true).unwrap();
    world.run_for(Duration::from_secs(1));
    assert!(matches!(world.log(a).streams_sent.get(&stream), Some(Ok(_))), "a source matching its size is fine");
    let short = world.send_stream_announcing(a, b, "file", pattern(MIB), 2 * MIB as u64).unwrap();
    world.run_for(Duration::from_secs(1));
    let result = world.log(a).streams_sent.get(&short).unwrap();
    assert_eq!(result.as_ref().unwrap_err().code(), "source", "{result:?}");
    let incoming = world.log(b).streams.values().last().unwrap();
    assert!(matches!(incoming.result, Some(Err(StreamError::Aborted { .. }))), "{:?}", incoming.result);
}

#[test]
fn a_peer_breaking_the_stream_protocol_is_refused() {
    let (mut world, a, b) = pair(8);
    let open = |handle| StreamOpen {
        handle,
        id: [1; STREAM_ID_LEN],
        offset: 0,
        size: Some(100 << 30),
        kind: PayloadKind::Binary,
        action: "file".into(),
        metadata: None,
    };
    let target = world.peer_id(b).to_owned();
    // A stream claiming 100 GiB costs nothing until bytes come; bytes out of order end it.
    world.send_raw_frame(a, &target, encode_open(&open(7)).unwrap());
    let mut skipped = encode_data(7, 4096);
    skipped.extend_from_slice(&[0; 100]);
    world.send_raw_frame(a, &target, skipped);
    // Bytes past the window end another.
    world.send_raw_frame(a, &target, encode_open(&open(8)).unwrap());
    let mut beyond = encode_data(8, 0);
    beyond.resize(beyond.len() + 300_000, 0);
    for _ in 0..(STREAM_WINDOW / 300_000 + 1) {
        world.send_raw_frame(a, &target, beyond.clone());
    }
    // Data for a stream never opened is ignored.
    world.send_raw_frame(a, &target, encode_data(9, 0));
    world.run_for(Duration::from_secs(1));
    let results: Vec<_> = world.log(b).streams.values().map(|s| s.result.clone()).collect();
    assert_eq!(results.len(), 2);
    for result in results {
        assert!(matches!(result, Some(Err(StreamError::Refused { .. }))), "{result:?}");
    }
    // The pair still talks.
    world.send(a, "chat", b"hi", None).unwrap();
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(b).received.len(), 1);
}

#[test]
fn transfers_and_streams_to_one_peer_take_turns() {
    let (mut world, a, b) = pair(9);
    world.bandwidth = Some(10 * MIB as u64);
    let stream = world.send_stream(a, b, "file", pattern(40 * MIB), true).unwrap();
    world.run_for(Duration::from_millis(200));
    world.send(a, "chat", &pattern(MIB), None).unwrap();
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.log(b).received.len(), 1, "a message is not stuck behind a stream");
    assert!(!world.log(a).streams_sent.contains_key(&stream), "the stream is still going");
    world.run_for(Duration::from_secs(10));
    assert!(matches!(world.log(a).streams_sent.get(&stream), Some(Ok(_))));
}

#[test]
fn a_peer_that_ignores_streams_fails_them_with_a_timeout() {
    let (mut world, a, b) = pair(10);
    // b answers no stream frame (as a peer of an older version, which ignores their kinds).
    let a_index = a;
    world.frame_filter =
        Some(Box::new(move |from, frame: &[u8]| from == a_index || !matches!(frame.get(2), Some(17 | 18))));
    // One stream fits the credit assumed at the open and ends (its verdict never comes); the other
    // stops there (it is never taken).
    let ended = world.send_stream(a, b, "file", pattern(MIB), true).unwrap();
    let stalled = world.send_stream(a, b, "file", pattern(4 * STREAM_WINDOW as usize), true).unwrap();
    world.run_for(ACK_TIMEOUT - Duration::from_secs(1));
    assert!(world.log(a).streams_sent.is_empty(), "still waiting");
    world.run_for(Duration::from_secs(2));
    for stream in [ended, stalled] {
        let result = world.log(a).streams_sent.get(&stream).unwrap();
        assert_eq!(result.as_ref().unwrap_err().code(), "timeout", "{result:?}");
    }
}

#[test]
fn a_stream_ending_exactly_at_the_window_ends_while_the_sink_holds_it() {
    let (mut world, a, b) = pair(11);
    world.hold_streams(b, true);
    let stream = world.send_stream(a, b, "file", pattern(STREAM_WINDOW as usize), true).unwrap();
    world.run_for(Duration::from_secs(3));
    assert_eq!(world.log(a).streams_sent.get(&stream), Some(&Ok(STREAM_WINDOW)));
}

#[test]
fn a_second_open_of_one_handle_refuses_both() {
    let (mut world, a, b) = pair(12);
    let open = StreamOpen {
        handle: 5,
        id: [2; STREAM_ID_LEN],
        offset: 0,
        size: None,
        kind: PayloadKind::Binary,
        action: "file".into(),
        metadata: None,
    };
    let target = world.peer_id(b).to_owned();
    world.send_raw_frame(a, &target, encode_open(&open).unwrap());
    world.send_raw_frame(a, &target, encode_open(&open).unwrap());
    world.run_for(Duration::from_millis(100));
    let results: Vec<_> = world.log(b).streams.values().map(|s| s.result.clone()).collect();
    assert_eq!(results.len(), 1);
    assert!(matches!(results[0], Some(Err(StreamError::Refused { .. }))), "{results:?}");
}

#[test]
fn a_stream_cut_off_with_its_connection_resumes_where_the_receiver_stopped() {
    let (mut world, a, b) = pair(13);
    world.bandwidth = Some(8 * MIB as u64);
    let payload = pattern(48 * MIB);
    let stream = world.send_stream(a, b, "file", payload.clone(), true).unwrap();
    world.run_for(Duration::from_secs(2));
    let target = world.peer_id(b).to_owned();
    world.mute_connection(a, &target);
    // Both notice the silence, lose each other, meet again through the relay and resume.
    assert!(world.run_until(RESUME_WAIT, |w| w.log(a).streams_sent.contains_key(&stream)));
    assert_eq!(world.log(a).streams_sent[&stream], Ok(payload.len() as u64));
    assert_eq!(world.log(b).streams.len(), 1, "the app saw one stream");
    let incoming = world.log(b).streams.values().next().unwrap();
    assert_eq!(incoming.result, Some(Ok(payload.len() as u64)));
    assert!(incoming.bytes == payload, "every byte once, in order");
}

#[test]
fn a_one_way_source_cannot_resume_and_fails_when_its_connection_drops() {
    let (mut world, a, b) = pair(14);
    world.bandwidth = Some(8 * MIB as u64);
    let stream = world.send_stream_unseekable(a, b, "file", pattern(48 * MIB)).unwrap();
    world.run_for(Duration::from_secs(2));
    let target = world.peer_id(b).to_owned();
    world.mute_connection(a, &target);
    assert!(world.run_until(Duration::from_secs(30), |w| w.log(a).streams_sent.contains_key(&stream)));
    assert_eq!(world.log(a).streams_sent[&stream].as_ref().unwrap_err().code(), "left");
}

#[test]
fn a_stream_cancelled_while_its_sender_was_cut_off_stays_cancelled() {
    let (mut world, a, b) = pair(15);
    world.bandwidth = Some(8 * MIB as u64);
    world.hold_streams(b, true);
    let stream = world.send_stream(a, b, "file", pattern(48 * MIB), true).unwrap();
    world.run_for(Duration::from_secs(1));
    let target = world.peer_id(b).to_owned();
    world.mute_connection(a, &target);
    // Both lose each other (about 20 s of silence) and cannot meet again while the relay is
    // down; meanwhile b's app cancels the waiting stream.
    world.stop_server(0);
    world.run_for(Duration::from_secs(25));
    assert!(world.log(a).streams_sent.is_empty(), "the sender waits for the peer");
    let incoming = *world.log(b).streams.keys().next().unwrap();
    world.cancel_incoming_stream(b, incoming);
    world.start_server(0);
    assert!(world.run_until(RESUME_WAIT, |w| w.log(a).streams_sent.contains_key(&stream)));
    let peer_b = world.peer_id(b).to_owned();
    assert_eq!(world.log(a).streams_sent[&stream], Err(StreamError::Cancelled { peer: peer_b }));
    assert_eq!(world.log(b).streams.len(), 1, "no second stream for the app");
}

/// `a` streams `size` bytes to `b` at 16 MiB/s; `b`'s app stages the stream and reads for
/// `settle`. Returns the world, both peers, the stream, its payload and what `b` saw of it.
fn staged_stream(seed: u64, size: usize, settle: Duration) -> (World, usize, usize, StreamId, Vec<u8>, IncomingLog) {
    let (mut world, a, b) = pair(seed);
    world.bandwidth = Some(16 * MIB as u64);
    let payload = pattern(size);
    let stream = world.send_stream(a, b, "file", payload.clone(), true).unwrap();
    world.run_for(Duration::from_millis(100));
    let (&incoming, _) = world.log(b).streams.iter().next().expect("b saw the stream");
    world.stage_incoming_stream(b, incoming);
    world.run_for(settle);
    let log = world.log(b).streams[&incoming].clone();
    (world, a, b, stream, payload, log)
}

/// `b`'s page reloads: it leaves, `a` waits for the stream to be claimed, and a new page joins.
fn reload(world: &mut World, a: usize, b: usize) -> usize {
    world.leave(b);
    world.run_for(Duration::from_millis(500));
    assert!(world.log(a).streams_sent.is_empty(), "the sender waits for a claim");
    let c = world.join_default();
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, c])));
    c
}

/// `c` adopts the stream `ticket` names with `staged`, reading slowly at first: the sender keeps
/// to what `c` grants from the staged offset; then `c` reads all that arrives.
fn adopt_reading_slowly(world: &mut World, c: usize, ticket: &StreamTicket, staged: &[u8]) -> IncomingStreamId {
    world.hold_streams(c, true);
    let adopted = world.adopt_stream(c, ticket, staged).unwrap();
    world.run_for(Duration::from_secs(2));
    let held = &world.log(c).streams[&adopted];
    assert_eq!(held.result, None, "the stream goes on");
    assert_eq!(held.bytes.len() as u64, STREAM_WINDOW, "the sender stops at the new page's credit");
    world.hold_streams(c, false);
    let unconsumed = world.log(c).streams[&adopted].unconsumed;
    world.consume(c, adopted, unconsumed);
    adopted
}

#[test]
fn a_stream_the_receiver_staged_is_picked_up_by_its_next_page_from_the_staged_offset() {
    // What the old page had read but not yet staged when it went: a little, or more than half the
    // window (the new page then grants less than the old one had).
    for (seed, lost) in [(20, 12_345), (23, 6 * MIB)] {
        staged_stream_picked_up(seed, lost);
    }
}

fn staged_stream_picked_up(seed: u64, lost: usize) {
    let (mut world, a, b, stream, payload, log) = staged_stream(seed, 48 * MIB, Duration::from_secs(1));
    // The page reloads: it leaves (the bytes it was still writing are lost), and a new page, under
    // a new peer id, joins the room with the ticket and the bytes it staged.
    let staged = log.bytes[..log.consumed as usize - lost].to_vec();
    assert!(staged.len() > 8 * MIB);
    let c = reload(&mut world, a, b);
    let adopted = adopt_reading_slowly(&mut world, c, log.ticket.as_ref().unwrap(), &staged);
    assert!(world.run_until(Duration::from_secs(20), |w| w.log(a).streams_sent.contains_key(&stream)));
    assert_eq!(world.log(a).streams_sent[&stream], Ok(payload.len() as u64));
    let got = &world.log(c).streams[&adopted];
    assert_eq!(got.result, Some(Ok(payload.len() as u64)), "the SHA-256 over staged and new bytes matched");
    assert!(got.bytes == payload[staged.len()..], "the rest arrived, from the staged offset on");
    assert!(world.log(c).streams.len() == 1 && world.log(a).left.len() == 1);
}

#[test]
fn a_staged_stream_nobody_claims_fails_its_sender_after_the_resume_wait() {
    let (mut world, a, b, stream, _, _) = staged_stream(21, 48 * MIB, Duration::from_millis(500));
    let b_id = world.peer_id(b).to_owned();
    world.leave(b);
    world.run_for(RESUME_WAIT - Duration::from_secs(1));
    assert!(world.log(a).streams_sent.is_empty());
    world.run_for(Duration::from_secs(2));
    assert_eq!(world.log(a).streams_sent[&stream], Err(StreamError::Left { peer: b_id }));
}

#[test]
fn adopting_a_stream_its_sender_no_longer_has_fails_with_gone_and_bad_adoptions_are_refused() {
    let (mut world, a, b) = pair(22);
    let a_id = world.peer_id(a).to_owned();
    let ticket = StreamTicket {
        peer: a_id.clone(),
        id: [9; STREAM_ID_LEN],
        action: "file".into(),
        kind: PayloadKind::Binary,
        metadata: None,
        size: Some(10),
    };
    assert!(
        matches!(world.adopt_stream(b, &ticket, &[0; 11]), Err(RoomError::Invalid(_))),
        "more staged than the size"
    );
    let own = StreamTicket { peer: world.peer_id(b).to_owned(), ..ticket.clone() };
    assert!(matches!(world.adopt_stream(b, &own, &[]), Err(RoomError::Invalid(_))), "a ticket naming ourselves");
    let stream = world.adopt_stream(b, &ticket, &[0; 4]).unwrap();
    assert!(matches!(world.adopt_stream(b, &ticket, &[]), Err(RoomError::Invalid(_))), "adopted twice");
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(b).streams[&stream].result, Some(Err(StreamError::Gone { peer: a_id })));
}

#[test]
fn a_claim_takes_a_stream_from_its_live_receiver_which_sees_it_aborted() {
    // A second page of the same user holds the ticket while the first still receives.
    let (mut world, a, b) = pair(24);
    world.bandwidth = Some(16 * MIB as u64);
    let payload = pattern(32 * MIB);
    let stream = world.send_stream(a, b, "file", payload.clone(), true).unwrap();
    world.run_for(Duration::from_millis(500));
    let (&incoming, log) = world.log(b).streams.iter().next().map(|(i, l)| (i, l.clone())).unwrap();
    let c = world.join_default();
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b, c])));
    let staged = world.log(b).streams[&incoming].bytes[..4 * MIB].to_vec();
    let adopted = adopt_reading_slowly(&mut world, c, log.ticket.as_ref().unwrap(), &staged);
    assert!(world.run_until(Duration::from_secs(20), |w| w.log(a).streams_sent.contains_key(&stream)));
    assert_eq!(world.log(a).streams_sent[&stream], Ok(payload.len() as u64));
    let a_id = world.peer_id(a).to_owned();
    assert_eq!(world.log(b).streams[&incoming].result, Some(Err(StreamError::Aborted { peer: a_id })));
    assert!(world.log(c).streams[&adopted].bytes == payload[4 * MIB..]);
}

#[test]
fn cancelling_an_adopted_stream_tells_its_sender_and_leaving_ends_one() {
    for leave in [false, true] {
        let (mut world, a, b, stream, _, log) = staged_stream(25 + leave as u64, 48 * MIB, Duration::from_millis(500));
        let c = reload(&mut world, a, b);
        // The new page adopts the stream, then cancels it or leaves.
        let ticket = log.ticket.as_ref().unwrap();
        let adopted = world.adopt_stream(c, ticket, &log.bytes[..MIB]).unwrap();
        world.run_for(Duration::from_millis(100));
        let c_id = world.peer_id(c).to_owned();
        if leave {
            world.leave(c);
            world.run_for(Duration::from_millis(100));
            assert_eq!(world.log(c).streams[&adopted].result, Some(Err(StreamError::Closed)));
            // The sender waits for the staged stream to be claimed again, then gives up.
            world.run_for(RESUME_WAIT + Duration::from_secs(1));
            assert_eq!(world.log(a).streams_sent[&stream], Err(StreamError::Left { peer: c_id }));
        } else {
            world.cancel_incoming_stream(c, adopted);
            world.run_for(Duration::from_millis(100));
            assert_eq!(world.log(a).streams_sent[&stream], Err(StreamError::Cancelled { peer: c_id }));
        }
    }
}

#[test]
fn a_page_that_takes_long_to_rehash_what_it_staged_still_picks_the_stream_up() {
    let (mut world, a, b, stream, payload, log) = staged_stream(27, 32 * MIB, Duration::from_millis(800));
    let staged = log.bytes[..log.consumed as usize].to_vec();
    let c = reload(&mut world, a, b);
    // The claim goes out at once, and the sender takes it: its wait for the old page ends.
    let adopted = world.adopt_stream_unhashed(c, log.ticket.as_ref().unwrap(), staged.len() as u64).unwrap();
    world.run_for(RESUME_WAIT + ACK_TIMEOUT + Duration::from_secs(10));
    assert!(world.log(a).streams_sent.is_empty(), "the sender waits while the new page rehashes");
    world.rehash(c, adopted, &staged).unwrap();
    assert!(world.run_until(Duration::from_secs(20), |w| w.log(a).streams_sent.contains_key(&stream)));
    assert_eq!(world.log(a).streams_sent[&stream], Ok(payload.len() as u64));
    assert!(world.log(c).streams[&adopted].bytes == payload[staged.len()..]);
}
