//! Trickle ICE: on presence strategies candidates travel sealed through the relays, each to the
//! peer's matching connection once its description is set; trackers carry none, so the option is
//! ignored there with a warning.

use rendez_sim::{Options, StrategyKind, World};
use std::time::Duration;

fn trickling() -> Options {
    Options { trickle_ice: true, ..Options::default() }
}

#[test]
fn candidates_reach_the_matching_connection_of_the_peer() {
    for kind in [StrategyKind::Mqtt, StrategyKind::Nostr] {
        let mut world = World::new(kind, 5);
        world.add_server();
        let (p, q) = (world.join(trickling()), world.join(trickling()));
        assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[p, q])), "{kind:?}");
        world.run_for(Duration::from_secs(1));
        for (me, other) in [(p, q), (q, p)] {
            let added: Vec<&String> = world.log(me).candidates_added.iter().map(|(_, c)| c).collect();
            let expected = format!("candidate of {} on ", world.peer_id(other));
            assert_eq!(added.len(), 1, "{kind:?}: {added:?}");
            assert!(added[0].starts_with(&expected), "{kind:?}: {added:?}");
            assert!(world.log(me).join_errors.is_empty(), "{kind:?}");
        }
    }
}

#[test]
fn trackers_carry_no_candidates_so_trickle_ice_is_ignored_there() {
    let mut world = World::new(StrategyKind::Torrent, 6);
    world.add_server();
    let (p, q) = (world.join(trickling()), world.join(trickling()));
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[p, q])));
    assert!(world.log(p).warnings.iter().any(|w| w.contains("trickleIce is ignored")));
    assert!(world.log(p).candidates_added.is_empty() && world.log(q).candidates_added.is_empty());
}

#[test]
fn without_trickle_ice_no_candidate_travels() {
    let mut world = World::new(StrategyKind::Mqtt, 7);
    world.add_server();
    let (p, q) = (world.join_default(), world.join_default());
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[p, q])));
    assert!(world.log(p).candidates_added.is_empty() && world.log(q).candidates_added.is_empty());
}
