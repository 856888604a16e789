//! Connection recovery: a connection whose path drops is ICE-restarted over the relays and
//! carries on where it was; one that cannot come back ends at the recovery limit, and a peer that
//! vanished still leaves on the silence bound.

use rendez_core::room::{HEARTBEAT_INTERVAL, READ_LEN, RECOVERY_LIMIT, RESTART_GRACE, RESTART_RETRY, SILENCE_LIMIT};
use rendez_sim::{Options, StrategyKind, World, DISCONNECT_NOTICE};
use std::time::Duration;

const MIB: usize = 1024 * 1024;

fn pair(kind: StrategyKind, seed: u64) -> (World, usize, usize) {
    let mut world = World::new(kind, seed);
    let (a, b) = (world.join_default(), world.join_default());
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
    (world, a, b)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

#[test]
fn a_dropped_connection_is_restarted_over_the_relays_and_its_stream_goes_on() {
    for (seed, kind) in [StrategyKind::Torrent, StrategyKind::Nostr, StrategyKind::Mqtt].into_iter().enumerate() {
        let (mut world, a, b) = pair(kind, seed as u64);
        world.bandwidth = Some(8 * MIB as u64);
        let payload = pattern(24 * MIB);
        let stream = world.send_stream(a, b, "file", payload.clone(), true).unwrap();
        world.run_for(Duration::from_secs(1));
        let cut_at = world.now();
        world.cut_path(a, b);
        let b_id = world.peer_id(b).to_owned();
        let sent = |w: &World| w.log(a).streams_sent.contains_key(&stream);
        assert!(world.run_until(Duration::from_secs(30), sent), "{kind:?}: the stream did not finish");
        assert_eq!(world.log(a).streams_sent[&stream], Ok(payload.len() as u64), "{kind:?}");
        let incoming: Vec<_> = world.log(b).streams.values().collect();
        assert_eq!(incoming.len(), 1, "{kind:?}: the app saw one stream");
        assert!(incoming[0].bytes == payload, "{kind:?}: the bytes arrived whole, in order");
        let reads = world.stream_reads(a);
        assert!(reads <= (payload.len() as u64).div_ceil(READ_LEN) + 1, "{kind:?}: {reads} reads: nothing was resent");
        for p in [a, b] {
            assert!(world.log(p).left.is_empty(), "{kind:?}: peer {p} saw a leave");
            assert!(
                world.log(p).warnings.iter().any(|w| w.contains("is back after")),
                "{kind:?}: {:?}",
                world.log(p).warnings
            );
        }
        let dropped = |p: usize| world.log(p).warnings.iter().any(|w| w.contains("dropped: restarting ICE"));
        assert!(dropped(a) != dropped(b), "{kind:?}: exactly one side restarts");
        let back = world.now() - cut_at;
        assert!(back < DISCONNECT_NOTICE + RESTART_GRACE + Duration::from_secs(4), "{kind:?}: back after {back:?}");
        // The connection carries new sends as before.
        world.send(b, "chat", b"still here", None).unwrap();
        world.run_for(Duration::from_millis(100));
        assert!(world.log(a).received.iter().any(|r| r.bytes == b"still here"), "{kind:?}");
        assert!(world.log(a).joined == [b_id], "{kind:?}: no second join");
        assert!(world.violations.is_empty(), "{:?}", world.violations);
    }
}

#[test]
fn a_connection_whose_path_stays_down_ends_at_the_recovery_limit() {
    let (mut world, a, b) = pair(StrategyKind::Mqtt, 7);
    world.set_paths_heal(false);
    let cut_at = world.now();
    world.cut_path(a, b);
    let (a_id, b_id) = (world.peer_id(a).to_owned(), world.peer_id(b).to_owned());
    let limit = DISCONNECT_NOTICE + RECOVERY_LIMIT;
    // Restart signals over the relays keep both sides from the silence limit until then.
    world.run_for(limit - Duration::from_secs(1));
    assert!(world.log(a).left.is_empty() && world.log(b).left.is_empty(), "left before the recovery limit");
    let relay_sent = world.stats(a).relay_messages_sent + world.stats(b).relay_messages_sent;
    assert!(
        world.run_until(Duration::from_secs(2), |w| w.log(a).left == [b_id.clone()] && w.log(b).left == [a_id.clone()])
    );
    assert!(world.now() - cut_at <= limit + Duration::from_millis(100));
    assert!(world.log(a).warnings.iter().any(|w| w.contains("did not come back within 30 s")));
    // Six restarts or so, each an offer and an answer: far below announcing.
    assert!(relay_sent < 200, "{relay_sent} relay messages");
}

#[test]
fn a_vanished_peer_still_leaves_within_the_silence_bound() {
    let (mut world, a, b) = pair(StrategyKind::Torrent, 9);
    let b_id = world.peer_id(b).to_owned();
    let cut_at = world.now();
    world.crash(b);
    world.cut_path(a, b);
    let bound = SILENCE_LIMIT + HEARTBEAT_INTERVAL;
    assert!(world.run_until(bound, |w| w.log(a).left.contains(&b_id)), "still there after {bound:?}");
    assert!(world.now() - cut_at >= SILENCE_LIMIT - HEARTBEAT_INTERVAL);
    assert!(world.log(a).warnings.iter().any(|w| w.contains("stopped responding")));
}

#[test]
fn a_restart_whose_descriptions_take_long_to_make_is_not_cut_short_by_the_next() {
    // Each description takes 5 s to make (the browser driver's longest wait for ICE gathering, as
    // with a STUN server that does not answer).
    let mut world = World::new(StrategyKind::Mqtt, 5);
    let slow = Options { gathering: Duration::from_secs(5), ..Options::default() };
    let (a, b) = (world.join(slow.clone()), world.join(slow));
    assert!(world.run_until(Duration::from_secs(30), |w| w.full_mesh(&[a, b])));
    world.cut_path(a, b);
    let back = |w: &World| [a, b].iter().all(|&p| w.log(p).warnings.iter().any(|m| m.contains("is back after")));
    assert!(world.run_until(RECOVERY_LIMIT, back), "{:?}", world.log(a).warnings);
    assert!(world.violations.is_empty(), "{:?}", world.violations);
    assert!(world.log(a).left.is_empty() && world.log(b).left.is_empty());
}

#[test]
fn a_restart_offer_left_unanswered_when_the_path_comes_back_by_itself_is_rolled_back() {
    let (mut world, a, b) = pair(StrategyKind::Mqtt, 11);
    // The impolite side (the smaller id) restarts; its offer goes nowhere while the relay is down.
    let (restarter, other) = if world.peer_id(a) < world.peer_id(b) { (a, b) } else { (b, a) };
    world.stop_server(0);
    world.cut_path(a, b);
    world.run_for(DISCONNECT_NOTICE + RESTART_GRACE + Duration::from_secs(1));
    assert!(world.log(restarter).warnings.iter().any(|w| w.contains("restarting ICE")));
    world.restore_path(a, b);
    world.run_for(RESTART_RETRY + Duration::from_secs(1));
    // The offer was rolled back: media negotiated afterwards goes through.
    let other_id = world.peer_id(other).to_owned();
    world.add_stream(restarter, &other_id, None).unwrap();
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.log(other).tracks.len(), 1, "the renegotiation after the restart went through");
    assert!(world.violations.is_empty(), "{:?}", world.violations);
    assert!(world.log(a).left.is_empty() && world.log(b).left.is_empty());
}
