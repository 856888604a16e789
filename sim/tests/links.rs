//! Rooms over a connection their pages already share (`crate::hub` decides when; these test the
//! room's side): each side proves it holds the room key before admission, a peer without it is
//! refused, signaling never replaces a shared connection, and passive peers stay apart.

use rendez_sim::{Options, StrategyKind, World};
use std::time::Duration;

/// A page that meets others only over shared connections (no relay).
fn unannounced() -> Options {
    Options { relays: Vec::new(), ..Options::default() }
}

#[test]
fn rooms_meet_over_a_shared_connection_once_each_proves_the_key() {
    let mut world = World::new(StrategyKind::Torrent, 1);
    let (p, q) = (world.join(unannounced()), world.join(unannounced()));
    let (p_conn, q_conn) = world.bind_over_link(p, q);
    assert!(p_conn.is_some() && q_conn.is_some());
    assert!(world.run_until(Duration::from_secs(1), |w| w.full_mesh(&[p, q])));
    world.send(p, "x", b"over the link", None).unwrap();
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.log(q).received.len(), 1);
    assert_eq!(world.log(q).received[0].bytes, b"over the link");
    // A second bind while joined makes nothing: the room keeps its connection.
    assert_eq!(world.bind_over_link(p, q), (None, None));
    world.leave(p);
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.log(q).left, vec![world.peer_id(p).to_owned()]);
}

#[test]
fn a_peer_without_the_room_key_is_not_admitted_over_a_shared_connection() {
    let mut world = World::new(StrategyKind::Torrent, 2);
    let p = world.join(unannounced());
    let q = world.join(Options { password: Some("other".into()), ..unannounced() });
    world.bind_over_link(p, q);
    world.run_for(Duration::from_secs(40));
    assert!(world.log(p).joined.is_empty() && world.log(q).joined.is_empty());
    let error = &world.log(p).join_errors[0].1;
    assert!(error.starts_with("cannot open its link proof"), "{error}");
    assert_eq!(world.connection_count(p) + world.connection_count(q), 0, "refused connections were closed");
}

#[test]
fn signaling_never_replaces_a_shared_connection() {
    for kind in [StrategyKind::Torrent, StrategyKind::Mqtt, StrategyKind::Nostr] {
        let mut world = World::new(kind, 3);
        world.add_server();
        let (p, q) = (world.join_default(), world.join_default());
        world.bind_over_link(p, q);
        // Relays bring announcements, offers and answers meanwhile, and again each round.
        world.run_for(Duration::from_secs(120));
        assert!(world.full_mesh(&[p, q]), "{kind:?}");
        for peer in [p, q] {
            // (Tracker pool offers, made for whoever answers, stay open until they expire.)
            assert_eq!(world.log(peer).joined.len(), 1, "{kind:?}: joined once");
            assert!(world.log(peer).left.is_empty(), "{kind:?}: never left");
            assert_eq!(world.open_peers(peer).len(), 1, "{kind:?}");
        }
    }
}

#[test]
fn passive_peers_stay_apart_over_a_shared_connection() {
    let mut world = World::new(StrategyKind::Torrent, 4);
    let passive = || Options { passive: true, ..unannounced() };
    let (p, q) = (world.join(passive()), world.join(passive()));
    world.bind_over_link(p, q);
    world.run_for(Duration::from_secs(40));
    assert!(world.log(p).joined.is_empty() && world.log(q).joined.is_empty());
    assert!(world.log(p).join_errors.is_empty(), "passive peers ignore each other silently");
}
