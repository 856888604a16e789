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
fn signaling_that_arrives_before_the_key_is_held_and_read_once_it_comes() {
    for kind in KINDS {
        let mut world = World::new(kind, 32);
        let peers: Vec<_> = (0..3).map(|_| world.join_default()).collect();
        assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&peers)), "{kind:?}: no mesh");
        let key_delay = Duration::from_secs(3);
        let late = world.join(Options { key_delay: Some(key_delay), ..Options::default() });
        world.run_for(Duration::from_secs(1));
        let fresh = world.join_default();
        world.run_for(key_delay - Duration::from_millis(1001));
        assert!(world.room(late).held_signals() > 0, "{kind:?}: nothing held while deriving");
        assert!(world.open_peers(late).is_empty(), "{kind:?}: met peers without a key");
        let mut all = peers.clone();
        all.extend([late, fresh]);
        assert!(world.run_until(Duration::from_secs(2), |w| w.full_mesh(&all)), "{kind:?}: no mesh after the key");
        assert_eq!(world.room(late).held_signals(), 0, "{kind:?}");
        assert!(world.log(late).join_errors.is_empty(), "{kind:?}: {:?}", world.log(late).join_errors);
        assert!(world.violations.is_empty(), "{kind:?}: {:?}", world.violations);
    }
}

/// A room that leaves before its key comes stays quiet when the key arrives.
#[test]
fn a_key_that_comes_after_leaving_is_ignored() {
    for kind in KINDS {
        let mut world = World::new(kind, 33);
        let a = world.join_default();
        world.run_for(Duration::from_secs(5));
        let late = world.join(Options { key_delay: Some(Duration::from_secs(1)), ..Options::default() });
        world.run_for(Duration::from_millis(500));
        world.leave(late);
        let sent = world.stats(late).relay_messages_sent;
        world.run_for(Duration::from_secs(5));
        assert_eq!(world.stats(late).relay_messages_sent, sent, "{kind:?}: spoke after leaving");
        assert!(world.log(a).joined.is_empty() && world.log(a).join_errors.is_empty(), "{kind:?}");
    }
}
