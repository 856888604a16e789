//! Relays: peers keep talking while relays are down and meet again after; a relay that accepts
//! and then refuses or drops us is retried ever more slowly, warned about once, and costs no
//! peer connections; nothing is built while no relay is usable; pausing holds reconnection.

use rendez_core::room::SETTLED_INTERVAL;
use rendez_core::strategy::RelayData;
use rendez_sim::relays::{ClientId, RelayServer, ServerAction, SimBroker, SimNostrRelay};
use rendez_sim::{Options, StrategyKind, World};
use std::time::Duration;

/// A tracker that closes every connection as soon as the client speaks.
struct SlammingTracker;

impl RelayServer for SlammingTracker {
    fn receive(&mut self, client: ClientId, _: RelayData, out: &mut Vec<ServerAction>) {
        out.push(ServerAction::Close(client));
    }

    fn disconnect(&mut self, _: ClientId) {}
}

/// Runs a peer against `server` for five minutes; returns the world, the peer and the times (s)
/// at which it opened connections to the relay.
fn five_minutes_against(kind: StrategyKind, server: Box<dyn RelayServer>) -> (World, usize, Vec<f64>) {
    let mut world = World::new(kind, 30);
    let bad = world.add_custom_server(server);
    let peer = world.join(Options { relays: vec![bad], ..Default::default() });
    let mut opened = Vec::new();
    let mut seen = 0;
    for _ in 0..3000 {
        world.run_for(Duration::from_millis(100));
        let now = world.stats(peer).relay_connections_opened;
        if now > seen {
            seen = now;
            opened.push(world.now().as_micros() as f64 / 1e6);
        }
    }
    (world, peer, opened)
}

#[test]
fn a_relay_that_accepts_then_refuses_is_retried_ever_more_slowly_and_warned_about_once() {
    let mut refusing_broker = Box::<SimBroker>::default();
    refusing_broker.connack_code = 5;
    let mut closing_relay = Box::<SimNostrRelay>::default();
    closing_relay.close_subscriptions = true;
    for (kind, server) in [
        (StrategyKind::Mqtt, refusing_broker as Box<dyn RelayServer>),
        (StrategyKind::Nostr, closing_relay),
        (StrategyKind::Torrent, Box::new(SlammingTracker)),
    ] {
        let (world, peer, opened) = five_minutes_against(kind, server);
        // Retried every 0.5–1 s, five minutes would be 300 or more attempts.
        assert!(opened.len() <= 20, "{kind:?}: {} attempts at {opened:?}", opened.len());
        let gaps: Vec<f64> = opened.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().rev().take(3).all(|&gap| gap >= 15.0), "{kind:?}: the backoff reaches its cap: {gaps:?}");
        let warnings = world.log(peer).warnings.iter().filter(|w| w.contains("sim://1")).count();
        assert_eq!(warnings, 1, "{kind:?}: {:?}", world.log(peer).warnings);
        assert_eq!(world.stats(peer).connections_created, 0, "{kind:?}: no peer connection for an unusable relay");
    }
}

#[test]
fn no_offer_pool_is_built_while_no_tracker_is_usable() {
    let mut world = World::new(StrategyKind::Torrent, 31);
    world.stop_server(0);
    let (a, b) = (world.join_default(), world.join_default());
    world.run_for(SETTLED_INTERVAL * 2);
    assert_eq!(world.stats(a).connections_created + world.stats(b).connections_created, 0);
    world.start_server(0);
    let opened = world.stats(a).relay_connections_opened;
    assert!(world.run_until(Duration::from_secs(40), |w| w.full_mesh(&[a, b])));
    assert_eq!(world.stats(a).relay_connections_opened, opened + 1, "the pool follows the tracker's answer");
    let offers = world.stats(a).connections_created + world.stats(b).connections_created;
    assert!(offers <= 2, "one offer for the one missing peer, from whoever sees the other in the swarm: {offers}");
}

#[test]
fn peers_keep_talking_while_the_relay_is_down_and_meet_newcomers_after_it_returns() {
    for kind in [StrategyKind::Torrent, StrategyKind::Mqtt, StrategyKind::Nostr] {
        let mut world = World::new(kind, 32);
        let (a, b) = (world.join_default(), world.join_default());
        assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
        world.stop_server(0);
        world.run_for(Duration::from_secs(20));
        world.send(a, "x", b"relay is down", None).unwrap();
        world.run_for(Duration::from_millis(100));
        assert_eq!(world.log(b).received.len(), 1, "{kind:?}");
        world.start_server(0);
        let c = world.join_default();
        assert!(world.run_until(Duration::from_secs(60), |w| w.full_mesh(&[a, b, c])), "{kind:?}");
        for p in [a, b] {
            assert_eq!(world.log(p).joined.len(), 2, "{kind:?}: nobody joined twice");
        }
    }
}

#[test]
fn a_relay_that_was_usable_for_long_is_reconnected_at_once_after_a_drop() {
    let mut world = World::new(StrategyKind::Mqtt, 33);
    let a = world.join_default();
    world.run_for(Duration::from_secs(120));
    world.stop_server(0);
    world.start_server(0);
    let opened = world.stats(a).relay_connections_opened;
    world.run_for(Duration::from_millis(1100));
    assert_eq!(world.stats(a).relay_connections_opened, opened + 1);
}

#[test]
fn paused_reconnection_waits_for_resumption_then_reconnects_at_once() {
    let mut world = World::new(StrategyKind::Nostr, 34);
    let a = world.join_default();
    world.run_for(Duration::from_secs(5));
    world.set_reconnection_paused(a, true);
    world.stop_server(0);
    world.start_server(0);
    let opened = world.stats(a).relay_connections_opened;
    world.run_for(Duration::from_secs(120));
    assert_eq!(world.stats(a).relay_connections_opened, opened, "paused");
    world.set_reconnection_paused(a, false);
    world.run_for(Duration::from_millis(50));
    assert_eq!(world.stats(a).relay_connections_opened, opened + 1, "resumed at once");
    let b = world.join_default();
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
}

#[test]
fn what_a_hostile_relay_makes_us_log_is_rate_limited() {
    let mut world = World::new(StrategyKind::Nostr, 35);
    let (a, b) = (world.join_default(), world.join_default());
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
    for i in 0..1000 {
        world.relay_sends(0, a, RelayData::Text(format!("[\"NOTICE\", \"spam {i}\"]")));
        world.relay_sends(0, a, RelayData::Text("not json".into()));
    }
    world.run_for(Duration::from_millis(100));
    let warnings = &world.log(a).warnings;
    assert_eq!(warnings.len(), 21, "{warnings:?}");
    assert!(warnings[20].contains("further warnings about them are held back"));
    world.send(b, "x", b"still fine", None).unwrap();
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(a).received.len(), 1);
}

/// A tracker that answers a connection's first announce and closes it on the next one.
#[derive(Default)]
struct FlappingTracker {
    inner: Option<rendez_sim::relays::SimTracker>,
    heard: std::collections::BTreeMap<ClientId, u32>,
}

impl RelayServer for FlappingTracker {
    fn receive(&mut self, client: ClientId, data: RelayData, out: &mut Vec<ServerAction>) {
        let heard = self.heard.entry(client).or_default();
        *heard += 1;
        if *heard > 1 {
            return out.push(ServerAction::Close(client));
        }
        self.inner.get_or_insert_with(|| rendez_sim::relays::SimTracker::new(1)).receive(client, data, out);
    }

    fn disconnect(&mut self, client: ClientId) {
        if let Some(inner) = &mut self.inner {
            inner.disconnect(client);
        }
    }
}

#[test]
fn a_tracker_that_keeps_dropping_us_cannot_make_us_pile_up_offer_pools() {
    let (world, peer, opened) = five_minutes_against(StrategyKind::Torrent, Box::<FlappingTracker>::default());
    let pool = rendez_torrent::session::OFFER_POOL_SIZE as u64;
    assert!(opened.len() >= 8, "the tracker kept accepting us: {opened:?}");
    // A fresh pool at most every announce interval (30 s): 10 in five minutes, not one per reconnection.
    assert!(world.stats(peer).connections_created <= 10 * pool, "{}", world.stats(peer).connections_created);
    assert!(world.connection_count(peer) <= 2 * pool as usize);
}

#[test]
fn a_page_that_wakes_reconnects_its_relay_and_announces_at_once() {
    let mut world = World::new(StrategyKind::Mqtt, 40);
    let peer = world.join_default();
    world.run_for(Duration::from_secs(2));
    world.stop_server(0);
    world.run_for(Duration::from_secs(60));
    world.start_server(0);
    let opened = world.stats(peer).relay_connections_opened;
    world.wake(peer);
    world.run_for(Duration::from_millis(500));
    assert_eq!(world.stats(peer).relay_connections_opened, opened + 1, "reconnected at once, not after the backoff");
    world.run_for(Duration::from_secs(5 * 60));
    let other = world.join_default();
    assert!(world.run_until(Duration::from_secs(5), |w| w.full_mesh(&[peer, other])));
    let before = world.stats(peer).relay_messages_sent;
    world.wake(peer);
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.stats(peer).relay_messages_sent, before, "a settled room does not announce on waking");
}
