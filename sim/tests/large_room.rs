//! Two hundred peers join one room through one simulated tracker within a minute; the simulation
//! prints what each peer cost the relay, how long the room took to mesh fully (simulated time)
//! and what the settled room costs the relay per peer and minute.

use rendez_core::room::SETTLED_INTERVAL;
use rendez_sim::{PeerIndex, StrategyKind, World};
use std::time::{Duration, Instant};

const PEERS: usize = 200;

#[test]
fn two_hundred_peers_reach_full_mesh_over_a_simulated_tracker() {
    let started = Instant::now();
    let mut world = World::new(StrategyKind::Torrent, 200);
    let peers: Vec<usize> = (0..PEERS)
        .map(|_| {
            world.run_for(Duration::from_millis(300));
            world.join_default()
        })
        .collect();
    let joined = world.now();
    let meshed =
        world.run_until(Duration::from_secs(60), |w| w.open_total() == PEERS * (PEERS - 1)) && world.full_mesh(&peers);
    let mesh_time = world.now() - joined;
    let sent: Vec<u64> = peers.iter().map(|&p| world.stats(p).relay_messages_sent).collect();
    let received: Vec<u64> = peers.iter().map(|&p| world.stats(p).relay_messages_received).collect();
    let connections: u64 = peers.iter().map(|&p| world.stats(p).connections_created).sum();
    world.run_for(SETTLED_INTERVAL * 2);
    let before: u64 = peers.iter().map(|&p| relay_messages(&world, p)).sum();
    let settled_for = Duration::from_secs(3600);
    world.run_for(settled_for);
    let settled: u64 = peers.iter().map(|&p| relay_messages(&world, p)).sum::<u64>() - before;
    let per_peer_minute = settled as f64 / PEERS as f64 / (settled_for.as_secs() as f64 / 60.0);
    let mean = |xs: &[u64]| xs.iter().sum::<u64>() as f64 / xs.len() as f64;
    println!(
        "{PEERS} peers over one tracker: full mesh {} s (simulated) after the last joined; relay messages per peer: \
         sent {:.0} (max {}), received {:.0} (max {}); peer connections made per peer: {:.1} for {} needed; \
         settled: {:.3} relay messages per peer per minute; ran in {:.1} s",
        mesh_time.as_secs(),
        mean(&sent),
        sent.iter().max().unwrap(),
        mean(&received),
        received.iter().max().unwrap(),
        connections as f64 / PEERS as f64,
        PEERS - 1,
        per_peer_minute,
        started.elapsed().as_secs_f64(),
    );
    assert!(meshed, "no full mesh after {mesh_time:?}");
    assert!(mesh_time <= Duration::from_secs(10), "full mesh took {mesh_time:?}");
    assert!(per_peer_minute < 0.05, "a settled room costs {per_peer_minute} relay messages per peer per minute");
    assert!(world.violations.is_empty(), "{:?}", &world.violations[..world.violations.len().min(5)]);
    for &p in &peers {
        assert_eq!(world.log(p).joined.len(), PEERS - 1, "every peer joined every other once");
        assert!(world.log(p).left.is_empty());
    }
}

/// Relay messages `peer` sent and received.
fn relay_messages(world: &World, peer: PeerIndex) -> u64 {
    let stats = world.stats(peer);
    stats.relay_messages_sent + stats.relay_messages_received
}
