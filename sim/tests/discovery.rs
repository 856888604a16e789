//! Discovery rules: the tie-break between concurrent attempts, pool-offer expiry, the set-up cap,
//! and signaling that is replayed, forged, stale or redirected.

use rendez_core::crypto::RoomKey;
use rendez_core::random::Random;
use rendez_core::room::{MAX_RELAY_OFFERS, MAX_UNOPENED_CONNECTIONS};
use rendez_core::signaling::{
    direct_offer_context, peer_topic, presence_context, room_topic, stamp, PeerMessage, STAMP_TOLERANCE_SECS,
};
use rendez_core::strategy::RelayData;
use rendez_sim::relays::{ClientId, RelayServer, ServerAction};
use rendez_sim::{Options, StrategyKind, World};
use std::time::Duration;

const EPOCH_SECS: u64 = 1_800_000_000;

#[test]
fn concurrent_attempts_between_two_peers_settle_on_one_connection() {
    // Presence: both announce as they become ready and both offer the other at once.
    for seed in 0..8 {
        let mut world = World::new(StrategyKind::Mqtt, seed);
        let (a, b) = (world.join_default(), world.join_default());
        world.run_for(Duration::from_secs(5));
        assert!(world.full_mesh(&[a, b]), "seed {seed}");
        world.run_for(Duration::from_secs(40));
        for p in [a, b] {
            assert_eq!(world.log(p).joined.len(), 1, "seed {seed}: each joins once");
            assert_eq!(world.peer_connections(p), 1, "seed {seed}: the losing attempt is closed");
        }
        assert!(world.violations.is_empty(), "{:?}", world.violations);
    }
}

/// A tracker that counts `swarm` peers in every swarm but hands offers to nobody: a room that
/// never stops looking, with nobody answering.
struct PhantomSwarmTracker {
    swarm: u64,
}

impl RelayServer for PhantomSwarmTracker {
    fn receive(&mut self, client: ClientId, data: RelayData, out: &mut Vec<ServerAction>) {
        let RelayData::Text(text) = data else { return };
        let Ok(m) = serde_json::from_str::<serde_json::Value>(&text) else { return };
        let response = serde_json::json!({"action": "announce", "info_hash": m["info_hash"], "interval": 120,
            "complete": 0, "incomplete": self.swarm});
        out.push(ServerAction::Send(client, RelayData::Text(response.to_string())));
    }

    fn disconnect(&mut self, _: ClientId) {}
}

#[test]
fn a_peer_alone_in_the_swarm_makes_no_offers_and_announces_ever_more_rarely() {
    let mut world = World::new(StrategyKind::Torrent, 4);
    let alone = world.join_default();
    world.run_for(Duration::from_secs(20 * 60));
    assert_eq!(world.stats(alone).connections_created, 0, "nobody to offer to");
    // Rounds at 2, 4, 8, … s, then every settled period: about 2 + 20 / 5 of them in 20 min, each an
    // announce and its response.
    let sent = world.stats(alone).relay_messages_sent;
    assert!((8..=16).contains(&sent), "{sent} announces in 20 min");
}

#[test]
fn a_looking_peer_offers_only_for_missing_peers_and_unanswered_offers_expire() {
    let mut world = World::new(StrategyKind::Torrent, 4);
    let phantom = world.add_custom_server(Box::new(PhantomSwarmTracker { swarm: 5 }));
    let peer = world.join(Options { relays: vec![phantom], ..Default::default() });
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.connection_count(peer), 4, "one offer per missing peer");
    let mut most = 0;
    for _ in 0..120 {
        world.run_for(Duration::from_secs(5));
        most = most.max(world.connection_count(peer));
    }
    // Rounds at least BRISK_FIRST apart and doubling, offers living OFFER_TTL: rounds at 0, 2, 6
    // and 14 s are the most pools alive at once.
    assert!(most <= 4 * 4, "{most} connections");
    assert!(world.connection_count(peer) <= 4, "old pools expired");
    let created = world.stats(peer).connections_created;
    assert!((4 * 8..=4 * 14).contains(&created), "pools keep being renewed, ever more rarely: {created}");
}

/// Seals presence announcements with the room key of the default options, as a peer holding
/// the key (or a relay replaying one) would.
struct Announcer {
    key: RoomKey,
    random: Random,
}

impl Announcer {
    fn new() -> Self {
        let options = Options::default();
        Self { key: RoomKey::derive(None, &options.app_id, &options.room_id), random: Random::seeded(9) }
    }

    /// An MQTT publication announcing `from` at `unix_secs`.
    fn presence(&mut self, from: &str, unix_secs: u64) -> Vec<u8> {
        let proof = self.key.seal(&mut self.random, &stamp(unix_secs, ""), &presence_context(from));
        rendez_mqtt::packet::publish(
            &Self::room_topic(),
            PeerMessage::Presence { from: from.into(), proof }.encode().as_bytes(),
        )
    }

    /// An MQTT publication carrying `from`'s direct offer to `to` (a description no peer answers).
    fn offer(&mut self, from: &str, to: &str, unix_secs: u64) -> Vec<u8> {
        let sealed_sdp = self.key.seal(
            &mut self.random,
            &stamp(unix_secs, "sim peer=999 conn=0 media=0"),
            &direct_offer_context(from, to),
        );
        let message = PeerMessage::Offer { from: from.into(), offer_id: format!("offer-{from}"), sealed_sdp };
        rendez_mqtt::packet::publish(&peer_topic(&Self::room_topic(), to), message.encode().as_bytes())
    }

    fn room_topic() -> String {
        format!("rendez/{}", room_topic("mqtt", "sim-app", "sim-room"))
    }
}

fn made_up_id(i: usize) -> String {
    format!("{i:0>20}")
}

/// Two MQTT peers that have met.
fn meshed_pair() -> (World, usize, usize) {
    let mut world = World::new(StrategyKind::Mqtt, 5);
    let (a, b) = (world.join_default(), world.join_default());
    assert!(world.run_until(Duration::from_secs(5), |w| w.full_mesh(&[a, b])));
    (world, a, b)
}

/// `from` still reaches `to`, its only message so far, which `to` acknowledges.
fn still_talking(world: &mut World, from: usize, to: usize) {
    let send = world.send(from, "still", b"here", None).unwrap();
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(to).received.len(), 1);
    assert_eq!(world.log(from).sends.get(&send), Some(&Ok(1)));
}

#[test]
fn a_flood_of_validly_sealed_announcements_is_offered_a_few_at_a_time() {
    let (mut world, a, b) = meshed_pair();
    let mut announcer = Announcer::new();
    for i in 0..200 {
        world.relay_sends(0, a, RelayData::Binary(announcer.presence(&made_up_id(i), EPOCH_SECS)));
    }
    for _ in 0..10 {
        world.run_for(Duration::from_secs(1));
        assert!(world.peer_connections(a) <= MAX_RELAY_OFFERS + 1, "{}", world.peer_connections(a));
    }
    still_talking(&mut world, b, a);
    // The made-up peers never answer: their connections time out, the waiting ones expire.
    world.run_for(Duration::from_secs(35));
    assert_eq!(world.peer_connections(a), 1);
}

#[test]
fn a_flood_of_validly_sealed_offers_stops_at_the_set_up_cap() {
    let (mut world, a, b) = meshed_pair();
    let mut announcer = Announcer::new();
    let to = world.peer_id(a).to_owned();
    for i in 0..200 {
        world.relay_sends(0, a, RelayData::Binary(announcer.offer(&made_up_id(i), &to, EPOCH_SECS)));
    }
    world.run_for(Duration::from_secs(1));
    assert!(world.connection_count(a) <= MAX_UNOPENED_CONNECTIONS + 1, "{}", world.connection_count(a));
    let warned = world.log(a).warnings.iter().filter(|w| w.contains("connections are being set up")).count();
    assert_eq!(warned, 1, "warned once per spell");
    still_talking(&mut world, b, a);
    world.run_for(Duration::from_secs(31));
    assert_eq!(world.peer_connections(a), 1);
}

#[test]
fn an_offer_that_finds_set_up_capacity_full_is_answered_once_capacity_frees() {
    let mut world = World::new(StrategyKind::Mqtt, 5);
    let quick = Options { connect_timeout: Duration::from_secs(4), ..Default::default() };
    let (first, second) = (world.join(quick.clone()), world.join(quick));
    assert!(world.run_until(Duration::from_secs(5), |w| w.full_mesh(&[first, second])));
    // The room's keeper (the smaller id) would offer a newcomer at once; the other one, a, is
    // introduced to it and waits.
    let (b, a) = if world.peer_id(first) < world.peer_id(second) { (first, second) } else { (second, first) };
    let mut announcer = Announcer::new();
    let to = world.peer_id(a).to_owned();
    for i in 0..MAX_UNOPENED_CONNECTIONS {
        world.relay_sends(0, a, RelayData::Binary(announcer.offer(&made_up_id(i), &to, EPOCH_SECS)));
    }
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.connection_count(a), MAX_UNOPENED_CONNECTIONS + 1, "set-up capacity is full");
    let c = world.join_default();
    let joined = world.now();
    // c meets b, b introduces c and a, and the offer between them waits at a for the made-up
    // connections to time out (4 s), not for c's connect timeout (30 s).
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b, c])));
    let waited = world.now() - joined;
    assert!(waited >= Duration::from_secs(3), "the room met c while a was full: {waited:?}");
    assert!(world.log(c).join_errors.is_empty(), "{:?}", world.log(c).join_errors);
}

#[test]
fn replayed_and_stale_announcements_set_nothing_up() {
    let mut world = World::new(StrategyKind::Mqtt, 6);
    let a = world.join_default();
    world.run_for(Duration::from_secs(2));
    assert!(world.room(a).has_warm_offer());
    let sent = world.stats(a).relay_messages_sent;
    let mut announcer = Announcer::new();
    let announcement = announcer.presence(&made_up_id(1), EPOCH_SECS);
    world.relay_sends(0, a, RelayData::Binary(announcement.clone()));
    // One relay latency (10 ms) later, before a new offer could have gathered (20 ms).
    world.run_for(Duration::from_millis(15));
    assert_eq!(world.stats(a).relay_messages_sent, sent + 1, "the offer made ahead went at once");
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.peer_connections(a), 1, "the first sighting is offered a connection");
    assert!(world.room(a).has_warm_offer(), "another offer is made ahead");
    let created = world.stats(a).connections_created;
    world.run_for(Duration::from_secs(40));
    assert_eq!(world.peer_connections(a), 0, "the peer never answered");
    // A relay replaying the announcement of a peer long gone gets nothing set up.
    for _ in 0..20 {
        world.relay_sends(0, a, RelayData::Binary(announcement.clone()));
    }
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.stats(a).connections_created, created, "copies are recognised");
    // Nor does one stamped outside the window, even if never seen.
    let stale = announcer.presence(&made_up_id(2), EPOCH_SECS - STAMP_TOLERANCE_SECS - 60);
    world.relay_sends(0, a, RelayData::Binary(stale));
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.stats(a).connections_created, created);
    let (peer, error) = world.log(a).join_errors.last().unwrap();
    assert_eq!(peer, &made_up_id(2));
    assert!(error.contains("time stamp"), "{error}");
}

#[test]
fn peers_whose_clocks_are_minutes_apart_still_meet() {
    let mut world = World::new(StrategyKind::Nostr, 7);
    let a = world.join(Options { clock_skew_secs: -240, ..Default::default() });
    let b = world.join(Options { clock_skew_secs: 300, ..Default::default() });
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
}

#[test]
fn a_flood_of_forged_announcements_is_reported_within_a_budget() {
    let mut world = World::new(StrategyKind::Mqtt, 10);
    let a = world.join_default();
    world.run_for(Duration::from_secs(2));
    let created = world.stats(a).connections_created;
    let mut forger =
        Announcer { key: RoomKey::derive(Some("guess"), "sim-app", "sim-room"), random: Random::seeded(3) };
    for i in 0..2000 {
        world.relay_sends(0, a, RelayData::Binary(forger.presence(&made_up_id(i), EPOCH_SECS)));
    }
    world.run_for(Duration::from_secs(10));
    let reports = world.log(a).join_errors.len();
    assert!((256..=267).contains(&reports), "{reports} reports");
    assert!(world.log(a).warnings.iter().any(|w| w.contains("further reports are held back")));
    assert!(world.log(a).warnings.len() <= 268, "{}", world.log(a).warnings.len());
    assert_eq!(world.stats(a).connections_created, created, "only the offer made ahead");
}

#[test]
fn forged_signaling_is_reported_and_never_joins() {
    let mut world = World::new(StrategyKind::Mqtt, 8);
    let a = world.join_default();
    let intruder = world.join(Options { password: Some("guess".into()), ..Default::default() });
    world.run_for(Duration::from_secs(10));
    assert!(world.log(a).joined.is_empty() && world.log(intruder).joined.is_empty());
    let reported: Vec<&String> = world.log(a).join_errors.iter().map(|(p, _)| p).collect();
    assert_eq!(reported, [world.peer_id(intruder)], "reported once");
    assert!(world.log(a).join_errors[0].1.contains("cannot open its presence proof"));
}

#[test]
fn a_direct_offer_opens_only_for_its_recipient() {
    let mut world = World::new(StrategyKind::Mqtt, 9);
    world.relay_log = Some(Vec::new());
    let (a, b) = (world.join_default(), world.join_default());
    assert!(world.run_until(Duration::from_secs(5), |w| w.full_mesh(&[a, b])));
    let c = world.join_default();
    world.run_for(Duration::from_secs(1));
    // Every offer the broker delivered to b, redirected to c by a hostile relay.
    let b_topic = format!("/{}", world.peer_id(b));
    let offers: Vec<RelayData> = world
        .relay_log
        .take()
        .unwrap()
        .into_iter()
        .filter(|(_, to, data)| {
            *to == b && matches!(data, RelayData::Binary(bytes) if String::from_utf8_lossy(bytes).contains(r#""type":"offer""#))
        })
        .map(|(_, _, data)| data)
        .collect();
    assert!(!offers.is_empty());
    let c_id = world.peer_id(c).to_owned();
    for offer in offers {
        let RelayData::Binary(bytes) = offer else { unreachable!() };
        let text = String::from_utf8_lossy(&bytes).replace(&b_topic, &format!("/{c_id}"));
        let payload = text.split_once('{').map(|(_, p)| format!("{{{p}")).unwrap();
        let message = PeerMessage::decode(payload.as_bytes()).unwrap();
        let topic = format!("rendez/{}/{c_id}", room_topic("mqtt", "sim-app", "sim-room"));
        world.relay_sends(0, c, RelayData::Binary(rendez_mqtt::packet::publish(&topic, message.encode().as_bytes())));
    }
    world.run_for(Duration::from_millis(200));
    let errors = &world.log(c).join_errors;
    assert!(errors.iter().any(|(_, e)| e.contains("cannot open its offer")), "{errors:?}");
}
