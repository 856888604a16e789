//! Meshing and the relay budget: introductions close a connected room into a full mesh at once,
//! without a second connection to peers still answering our offers and with few crossing offers, a settled room announces
//! rarely and through its keeper only, and a new keeper takes over at once.

use rendez_core::frame::{encode_peers, encode_relayed};
use rendez_core::room::{MAX_INTRODUCTION_OFFERS, SETTLED_INTERVAL};
use rendez_mqtt::session::KEEP_ALIVE_SECS;
use rendez_sim::{Options, StrategyKind, World};
use std::time::Duration;

const KINDS: [StrategyKind; 3] = [StrategyKind::Torrent, StrategyKind::Mqtt, StrategyKind::Nostr];

#[test]
fn sixteen_peers_joining_at_once_reach_full_mesh_within_three_seconds() {
    for kind in KINDS {
        for seed in 0..3 {
            let mut world = World::new(kind, seed);
            let peers: Vec<usize> = (0..16).map(|_| world.join_default()).collect();
            let meshed = world.run_until(Duration::from_secs(3), |w| w.full_mesh(&peers));
            assert!(meshed, "{kind:?} seed {seed}: {} of 240 open", world.open_total());
            world.run_for(Duration::from_secs(60));
            for &p in &peers {
                assert_eq!(world.log(p).joined.len(), 15, "{kind:?} seed {seed}: each joined every other once");
                assert!(world.log(p).left.is_empty());
            }
            assert!(world.violations.is_empty(), "{:?}", world.violations);
        }
    }
}

/// Sixteen pages that answer at different speeds: the larger id of two peers introduced to each
/// other leaves the offer to the smaller one (whose offer would win the tie-break), so presence
/// rooms set up few connections beyond the 240 ends a full mesh needs (about 300 without that;
/// trackers' pool offers cross as often either way).
#[test]
fn sixteen_uneven_pages_set_up_few_connections_beyond_those_needed() {
    for kind in [StrategyKind::Mqtt, StrategyKind::Nostr] {
        for seed in 0..3 {
            let mut world = World::new(kind, seed);
            let peers: Vec<usize> = (0..16)
                .map(|i| {
                    world.join(Options { gathering: Duration::from_millis(60 + 37 * (i % 5)), ..Options::default() })
                })
                .collect();
            assert!(world.run_until(Duration::from_secs(3), |w| w.full_mesh(&peers)), "{kind:?} seed {seed}");
            let created: u64 = peers.iter().map(|&p| world.stats(p).connections_created).sum();
            assert!(created <= 280, "{kind:?} seed {seed}: {created} connections set up for 240 ends");
        }
    }
}

/// A late joiner's pool offers reach every peer of the room; the first to answer introduces the
/// others, whose answers are still coming (busy pages answer slowly): no second offer goes to them.
#[test]
fn a_late_joiner_offers_no_peer_twice_while_its_pool_is_being_answered() {
    let mut world = World::new(StrategyKind::Torrent, 5);
    let peers: Vec<_> = (0..8)
        .map(|i| world.join(Options { gathering: Duration::from_millis(20 + 130 * (i % 2)), ..Options::default() }))
        .collect();
    assert!(world.run_until(Duration::from_secs(30), |w| w.full_mesh(&peers)));
    world.run_for(Duration::from_secs(60));
    let late = world.join_default();
    let mut all = peers.clone();
    all.push(late);
    assert!(world.run_until(Duration::from_secs(1), |w| w.full_mesh(&all)), "no mesh within 1 s");
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.stats(late).connections_created, 8, "connections made for 8 peers");
}

#[test]
fn peers_on_different_relays_meet_through_a_peer_on_both() {
    for kind in KINDS {
        let mut world = World::new(kind, 7);
        let second = world.add_server();
        let on = |relays: Vec<usize>| Options { relays, ..Default::default() };
        let mut peers: Vec<usize> = (0..5).map(|_| world.join(on(vec![0]))).collect();
        peers.extend((0..5).map(|_| world.join(on(vec![second]))));
        peers.push(world.join(on(vec![0, second])));
        assert!(
            world.run_until(Duration::from_secs(10), |w| w.full_mesh(&peers)),
            "{kind:?}: {} open",
            world.open_total()
        );
        assert!(world.violations.is_empty(), "{:?}", world.violations);
    }
}

#[test]
fn a_settled_room_announces_only_through_its_keeper_and_rarely() {
    for kind in KINDS {
        let mut world = World::new(kind, 3);
        let peers: Vec<usize> = (0..8).map(|_| world.join_default()).collect();
        assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&peers)));
        world.run_for(SETTLED_INTERVAL * 2);
        let before: Vec<u64> = peers.iter().map(|&p| world.stats(p).relay_messages_sent).collect();
        let hour = Duration::from_secs(3600);
        world.run_for(hour);
        let keeper = *peers.iter().min_by_key(|&&p| world.peer_id(p).to_owned()).unwrap();
        let keep_alives = match kind {
            StrategyKind::Mqtt => hour.as_secs() / (u64::from(KEEP_ALIVE_SECS) / 2),
            _ => 0,
        };
        // The keeper announces at the tracker's interval (the simulated tracker's is 120 s), else
        // every settled interval.
        let period = if kind == StrategyKind::Torrent { 120 } else { SETTLED_INTERVAL.as_secs() };
        let rounds = hour.as_secs() / period;
        for (i, &p) in peers.iter().enumerate() {
            let sent = world.stats(p).relay_messages_sent - before[i];
            let allowed = keep_alives + if p == keeper { rounds } else { 0 };
            assert!(sent <= allowed, "{kind:?}: peer {p} (keeper {keeper}) sent {sent} in an hour, {allowed} allowed");
        }
        assert!(
            world.stats(keeper).relay_messages_sent - before[keeper] >= rounds - 1,
            "{kind:?}: the keeper keeps announcing"
        );
        assert!(world.full_mesh(&peers));
    }
}

#[test]
fn when_the_keeper_leaves_the_next_one_announces_at_once() {
    for kind in KINDS {
        let mut world = World::new(kind, 5);
        let mut peers: Vec<usize> = (0..4).map(|_| world.join_default()).collect();
        assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&peers)));
        world.run_for(SETTLED_INTERVAL * 2 + Duration::from_secs(7));
        peers.sort_by_key(|&p| world.peer_id(p).to_owned());
        let (keeper, next) = (peers[0], peers[1]);
        let before = world.stats(next).relay_messages_sent;
        world.leave(keeper);
        let took_over = world.run_until(Duration::from_secs(2), |w| w.stats(next).relay_messages_sent > before);
        assert!(took_over, "{kind:?}: the next keeper did not announce");
    }
}

#[test]
fn forged_or_malformed_introductions_are_bounded_and_harmless() {
    let mut world = World::new(StrategyKind::Torrent, 9);
    let (a, b) = (world.join_default(), world.join_default());
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
    let a_id = world.peer_id(a).to_owned();
    let made_up: Vec<(String, bool)> = (0..300).map(|i| (format!("{i:0>20}"), false)).collect();
    world.send_raw_frame(b, &a_id, encode_peers(&serde_json::to_string(&made_up).unwrap()));
    world.send_raw_frame(b, &a_id, encode_peers("not json"));
    world.send_raw_frame(b, &a_id, encode_relayed(r#"{"to":"nobody","message":{"type":"offer"}}"#));
    let to_nobody = serde_json::json!({"to": "00000000000000000999", "message":
        {"type": "answer", "from": world.peer_id(b), "offer_id": "x", "sealed_sdp": "forged"}});
    world.send_raw_frame(b, &a_id, encode_relayed(&to_nobody.to_string()));
    let mut most = 0;
    for _ in 0..100 {
        world.run_for(Duration::from_secs(1));
        most = most.max(world.connection_count(a));
    }
    assert!(most <= 1 + MAX_INTRODUCTION_OFFERS, "{most} connections at once");
    assert!(world.log(a).warnings.iter().any(|w| w.contains("relayed signaling")), "{:?}", world.log(a).warnings);
    assert!(world.full_mesh(&[a, b]), "the room keeps working");
    assert!(world.violations.is_empty(), "{:?}", world.violations);
}

#[test]
fn a_newcomer_to_a_settled_presence_room_costs_the_relays_one_offer_and_one_answer() {
    for kind in [StrategyKind::Mqtt, StrategyKind::Nostr] {
        let mut world = World::new(kind, 11);
        let mut peers: Vec<usize> = (0..8).map(|_| world.join_default()).collect();
        assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&peers)));
        world.run_for(Duration::from_secs(30));
        let keeper = *peers.iter().min_by_key(|&&p| world.peer_id(p).to_owned()).unwrap();
        let before: Vec<u64> = peers.iter().map(|&p| world.stats(p).relay_messages_sent).collect();
        let newcomer = world.join_default();
        let joined_at = world.now();
        peers.push(newcomer);
        assert!(world.run_until(Duration::from_secs(2), |w| w.full_mesh(&peers)), "{kind:?}: meshed within 2 s");
        println!("{kind:?}: newcomer fully meshed {:?} after joining", world.now() - joined_at);
        world.run_for(Duration::from_secs(5));
        for (i, &p) in peers[..8].iter().enumerate() {
            let sent = world.stats(p).relay_messages_sent - before[i];
            let allowed = u64::from(p == keeper);
            assert!(
                sent <= allowed,
                "{kind:?}: peer {p} (keeper {keeper}) sent {sent} relay messages for the newcomer"
            );
        }
    }
}
