//! Peers find each other through each strategy's relay and talk.

use rendez_sim::{StrategyKind, World};
use std::time::Duration;

const KINDS: [StrategyKind; 3] = [StrategyKind::Torrent, StrategyKind::Mqtt, StrategyKind::Nostr];

#[test]
fn two_peers_meet_and_exchange_an_action_over_every_strategy() {
    for kind in KINDS {
        let mut world = World::new(kind, 1);
        let (a, b) = (world.join_default(), world.join_default());
        assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])), "{kind:?}: no mesh");
        let (a_id, b_id) = (world.peer_id(a).to_owned(), world.peer_id(b).to_owned());
        assert_eq!(world.log(a).joined, std::slice::from_ref(&b_id), "{kind:?}");
        assert_eq!(world.log(b).joined, std::slice::from_ref(&a_id), "{kind:?}");
        let send = world.send(a, "chat", b"hello", None).unwrap();
        world.run_for(Duration::from_millis(100));
        let received = &world.log(b).received;
        assert_eq!(received.len(), 1, "{kind:?}");
        assert_eq!((received[0].from.as_str(), received[0].bytes.as_slice()), (a_id.as_str(), &b"hello"[..]));
        assert_eq!(world.log(a).sends.get(&send), Some(&Ok(1)), "{kind:?}: acked");
        assert!(world.violations.is_empty(), "{kind:?}: {:?}", world.violations);
    }
}

#[test]
fn many_peers_mesh_and_a_leaver_is_seen_at_once() {
    for kind in KINDS {
        let mut world = World::new(kind, 2);
        let peers: Vec<_> = (0..6).map(|_| world.join_default()).collect();
        assert!(world.run_until(Duration::from_secs(120), |w| w.full_mesh(&peers)), "{kind:?}: no mesh");
        let leaver = world.peer_id(peers[0]).to_owned();
        world.leave(peers[0]);
        world.run_for(Duration::from_millis(50));
        for &p in &peers[1..] {
            assert_eq!(world.log(p).left, std::slice::from_ref(&leaver), "{kind:?}");
            assert_eq!(world.open_peers(p).len(), 4);
        }
        assert!(world.violations.is_empty(), "{kind:?}: {:?}", world.violations);
    }
}

#[test]
fn peers_of_other_rooms_or_passwords_never_meet() {
    let mut world = World::new(StrategyKind::Mqtt, 3);
    let a = world.join_default();
    let b = world.join(rendez_sim::Options { room_id: "elsewhere".into(), ..Default::default() });
    let c = world.join(rendez_sim::Options { password: Some("secret".into()), ..Default::default() });
    world.run_for(Duration::from_secs(60));
    for p in [a, b, c] {
        assert!(world.log(p).joined.is_empty(), "{:?}", world.log(p).joined);
    }
    let errors = &world.log(c).join_errors;
    assert!(errors.iter().any(|(_, e)| e.contains("failed authentication")), "{errors:?}");
}
