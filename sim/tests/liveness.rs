//! Liveness: a vanished peer leaves within the documented bound; quiet peers stay; pings settle
//! with the round trip, a timeout, or at once when the peer leaves.

use rendez_core::room::{PingError, HEARTBEAT_INTERVAL, PING_TIMEOUT, SILENCE_LIMIT};
use rendez_sim::{StrategyKind, World};
use std::time::Duration;

fn pair(seed: u64) -> (World, usize, usize) {
    let mut world = World::new(StrategyKind::Torrent, seed);
    let (a, b) = (world.join_default(), world.join_default());
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
    (world, a, b)
}

#[test]
fn a_crashed_peer_leaves_within_the_documented_bound() {
    let bound = SILENCE_LIMIT + HEARTBEAT_INTERVAL;
    assert_eq!(bound, Duration::from_secs(20), "the README documents 20 s");
    for seed in 0..5 {
        let (mut world, a, b) = pair(seed);
        world.run_for(Duration::from_millis(1234 * seed));
        let crashed = world.now();
        let b_id = world.peer_id(b).to_owned();
        world.crash(b);
        assert!(world.run_until(bound, |w| w.log(a).left.contains(&b_id)), "seed {seed}: still there after {bound:?}");
        let took = world.now() - crashed;
        assert!(took >= SILENCE_LIMIT - HEARTBEAT_INTERVAL, "seed {seed}: left after only {took:?}");
        assert!(world.log(a).warnings.iter().any(|w| w.contains("stopped responding")));
    }
}

#[test]
fn peers_with_nothing_to_say_stay_connected() {
    let (mut world, a, b) = pair(11);
    world.run_for(Duration::from_secs(600));
    assert!(world.log(a).left.is_empty() && world.log(b).left.is_empty());
    assert!(world.full_mesh(&[a, b]));
}

#[test]
fn pings_measure_the_round_trip_time_out_and_fail_at_once_when_the_peer_leaves() {
    let (mut world, a, b) = pair(12);
    let b_id = world.peer_id(b).to_owned();
    let ping = world.ping(a, &b_id).unwrap();
    world.run_for(Duration::from_millis(100));
    let rtt = world.log(a).pings[&ping].clone().unwrap();
    assert_eq!(rtt, 2 * world.latency, "one hop each way");

    // b's end of the connection hangs: the ping times out.
    let a_id = world.peer_id(a).to_owned();
    world.mute_connection(b, &a_id);
    let ping = world.ping(a, &b_id).unwrap();
    world.run_for(PING_TIMEOUT - Duration::from_millis(1));
    assert!(!world.log(a).pings.contains_key(&ping));
    world.run_for(Duration::from_millis(1));
    assert_eq!(world.log(a).pings[&ping], Err(PingError::Timeout { peer: b_id.clone() }));

    // A pending ping to a peer that leaves fails at once, not after its timeout.
    let (mut world, a, b) = pair(13);
    let b_id = world.peer_id(b).to_owned();
    let ping = world.ping(a, &b_id).unwrap();
    world.leave(b);
    let left_at = world.now();
    assert!(world.run_until(Duration::from_secs(1), |w| w.log(a).pings.contains_key(&ping)));
    assert_eq!(world.log(a).pings[&ping], Err(PingError::Left { peer: b_id }));
    assert!(world.now() - left_at < Duration::from_millis(100));
}
