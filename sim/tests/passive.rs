//! Passive peers, on every strategy: a passive peer alone stays silent on the relays; passive
//! peers never connect to each other; a non-passive peer wakes them and meets each of them.

use rendez_core::room::STAY_AWAKE;
use rendez_sim::{Options, StrategyKind, World};
use std::time::Duration;

const STRATEGIES: [StrategyKind; 3] = [StrategyKind::Torrent, StrategyKind::Mqtt, StrategyKind::Nostr];

fn passive() -> Options {
    Options { passive: true, ..Options::default() }
}

#[test]
fn passive_peers_wait_for_an_active_one_and_never_pair_up() {
    for kind in STRATEGIES {
        let mut world = World::new(kind, 7);
        let (p, q) = (world.join(passive()), world.join(passive()));
        world.run_for(Duration::from_secs(120));
        assert_eq!(world.connection_count(p) + world.connection_count(q), 0, "{kind:?}: passive peers connected");
        assert!(world.room(p).is_passive());

        let a = world.join_default();
        let a_id = world.peer_id(a).to_owned();
        let met = |w: &World| {
            w.open_peers(a).len() == 2 && [p, q].iter().all(|&passive| w.open_peers(passive) == [a_id.clone()])
        };
        assert!(world.run_until(Duration::from_secs(40), met), "{kind:?}");
        world.run_for(Duration::from_secs(120));
        assert!(world.open_peers(p).iter().all(|id| id == world.peer_id(a)), "{kind:?}: p met q");
        assert!(world.open_peers(q).iter().all(|id| id == world.peer_id(a)), "{kind:?}: q met p");
        assert!(world.log(p).join_errors.is_empty() && world.log(q).join_errors.is_empty(), "{kind:?}");
    }
}

/// Dormant, a passive peer makes no offers (a tracker still hears of it, to send it offers) and
/// publishes no presence.
#[test]
fn a_dormant_passive_peer_makes_no_offers_and_announces_no_presence() {
    for kind in STRATEGIES {
        let mut world = World::new(kind, 8);
        let (p, a) = (world.join(passive()), world.join(Options { room_id: "other".into(), ..Options::default() }));
        world.run_for(STAY_AWAKE * 4);
        assert_eq!(world.stats(p).connections_created, 0, "{kind:?}: a dormant peer made offers");
        let (dormant, active) = (world.stats(p).relay_messages_sent, world.stats(a).relay_messages_sent);
        if kind != StrategyKind::Torrent {
            assert!(dormant < active, "{kind:?}: dormant {dormant} vs active {active} relay messages");
        }
    }
}
