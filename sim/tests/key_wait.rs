//! A room whose key is still being derived (a browser derives it with WebCrypto while the room
//! connects): it meets peers as soon as the key arrives, faster than if it had derived the key
//! before starting, and loses none of the signaling that came meanwhile.

use rendez_sim::{Options, StrategyKind, World};
use std::time::Duration;

const KINDS: [StrategyKind; 3] = [StrategyKind::Torrent, StrategyKind::Mqtt, StrategyKind::Nostr];

/// How long a second peer takes to meet a room of one, its key handed in after `key_delay`.
fn second_peer_meets(kind: StrategyKind, key_delay: Option<Duration>) -> Duration {
    let mut world = World::new(kind, 31);
    let a = world.join_default();
    world.run_for(Duration::from_secs(5));
    let started = world.now();
    let b = world.join(Options { key_delay, ..Options::default() });
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])), "{kind:?}: no mesh");
    assert!(world.log(a).join_errors.is_empty() && world.log(b).join_errors.is_empty(), "{kind:?}");
    assert!(world.violations.is_empty(), "{kind:?}: {:?}", world.violations);
    world.now() - started
}

#[test]
fn a_key_derived_while_connecting_costs_less_than_deriving_it_first() {
    let derivation = Duration::from_millis(80);
    for kind in KINDS {
        let keyed = second_peer_meets(kind, None);
        let overlapped = second_peer_meets(kind, Some(derivation));
        assert!(overlapped >= derivation, "{kind:?}: met in {overlapped:?}, before the key came");
        assert!(
            overlapped < keyed + derivation,
            "{kind:?}: met in {overlapped:?}, no sooner than deriving first ({keyed:?} + {derivation:?})"
        );
    }
}

#[test]
fn signaling_that_arrives_before_the_key_is_read_once_it_comes() {
    for kind in KINDS {
        let mut world = World::new(kind, 32);
        let peers: Vec<_> = (0..3).map(|_| world.join_default()).collect();
        assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&peers)), "{kind:?}: no mesh");
        let key_delay = Duration::from_secs(3);
        let late = world.join(Options { key_delay: Some(key_delay), ..Options::default() });
        world.run_for(key_delay - Duration::from_millis(1));
        assert!(world.stats(late).relay_messages_received > 0, "{kind:?}: nothing came while deriving");
        assert!(world.open_peers(late).is_empty(), "{kind:?}: met peers without a key");
        let mut all = peers.clone();
        all.push(late);
        assert!(world.run_until(Duration::from_secs(2), |w| w.full_mesh(&all)), "{kind:?}: no mesh after the key");
        assert!(world.log(late).join_errors.is_empty(), "{kind:?}: {:?}", world.log(late).join_errors);
        assert!(world.violations.is_empty(), "{kind:?}: {:?}", world.violations);
    }
}
