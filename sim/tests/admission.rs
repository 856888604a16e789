//! Admission: with a handshake, a peer joins only once both sides passed it; handshake data
//! flows before, other data is refused; a failed or slow handshake drops the peer with a join
//! error on the side that failed it.

use rendez_core::room::Admission;
use rendez_sim::{Options, StrategyKind, World};
use std::time::Duration;

fn handshaking(seed: u64) -> (World, usize, usize, String, String) {
    let mut world = World::new(StrategyKind::Mqtt, seed);
    let options = Options { admission: Admission::Handshake, ..Options::default() };
    let (a, b) = (world.join(options.clone()), world.join(options));
    assert!(
        world.run_until(Duration::from_secs(10), |w| w.log(a).handshakes.len() == 1 && w.log(b).handshakes.len() == 1)
    );
    let (a_id, b_id) = (world.peer_id(a).to_owned(), world.peer_id(b).to_owned());
    (world, a, b, a_id, b_id)
}

#[test]
fn peers_join_only_once_both_handshakes_pass() {
    let (mut world, a, b, a_id, b_id) = handshaking(1);
    let (a_role, b_role) = (world.log(a).handshakes[0].1, world.log(b).handshakes[0].1);
    assert_ne!(a_role, b_role, "exactly one side initiates");
    assert_eq!(a_role, a_id < b_id);
    assert!(world.open_peers(a).is_empty() && world.open_peers(b).is_empty());
    assert!(world.send(a, "chat", b"too early", Some(vec![b_id.clone()])).is_err(), "pending peers are not targets");
    assert!(world.ping(a, &b_id).is_err());

    let sent = world.handshake_send(a, &b_id, b"challenge").unwrap();
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(b).handshake_data, vec![(a_id.clone(), b"challenge".to_vec())]);
    assert_eq!(world.log(a).sends[&sent], Ok(1));

    world.handshake_done(a, &b_id, Ok(()));
    world.run_for(Duration::from_secs(1));
    assert!(world.log(a).joined.is_empty() && world.log(b).joined.is_empty(), "b has not passed yet");
    world.handshake_done(b, &a_id, Ok(()));
    world.run_for(Duration::from_millis(100));
    assert_eq!((world.log(a).joined.clone(), world.log(b).joined.clone()), (vec![b_id.clone()], vec![a_id.clone()]));
    assert_eq!(world.log(a).handshakes_ended, vec![b_id.clone()]);
    world.send(a, "chat", b"hello", None).unwrap();
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(b).received.len(), 1);
    assert!(world.log(a).join_errors.is_empty() && world.log(b).join_errors.is_empty());
}

#[test]
fn a_failed_handshake_drops_the_peer_with_a_join_error() {
    let (mut world, a, b, a_id, b_id) = handshaking(2);
    world.handshake_done(b, &a_id, Ok(()));
    world.handshake_done(a, &b_id, Err("wrong answer"));
    world.run_for(Duration::from_secs(1));
    assert_eq!(world.log(a).join_errors, vec![(b_id.clone(), "handshake failed: wrong answer".to_owned())]);
    assert!(world.log(a).joined.is_empty() && world.log(b).joined.is_empty());
    assert_eq!(world.log(b).handshakes_ended, vec![a_id], "b sees the connection close");
    assert_eq!(world.peer_connections(a), 0);
}

#[test]
fn a_handshake_that_never_ends_times_out() {
    let (mut world, a, b, _, b_id) = handshaking(3);
    let timeout = rendez_core::room::DEFAULT_HANDSHAKE_TIMEOUT;
    world.run_for(timeout);
    let errors = &world.log(a).join_errors;
    assert_eq!(errors, &vec![(b_id, format!("handshake timed out after {}ms", timeout.as_millis()))]);
    assert!(world.log(b).joined.is_empty());
}

#[test]
fn data_from_a_peer_not_admitted_is_refused() {
    let (mut world, a, b, a_id, b_id) = handshaking(4);
    // a admits b, b has not admitted a: a frame from a is not handed to b's app.
    world.handshake_done(a, &b_id, Ok(()));
    world.run_for(Duration::from_millis(100));
    let frame = rendez_core::frame::encode_data_header(&rendez_core::frame::DataHeader {
        transfer: 9,
        seq: 0,
        start: Some(rendez_core::frame::TransferStart {
            action: "chat".into(),
            total: 0,
            kind: rendez_core::frame::PayloadKind::Text,
            metadata: None,
            purpose: rendez_core::frame::Purpose::Message,
        }),
    })
    .unwrap();
    world.send_raw_frame(a, &b_id, frame);
    world.run_for(Duration::from_millis(100));
    assert!(world.log(b).received.is_empty());
    assert!(world.log(b).warnings.iter().any(|w| w.contains("has not joined yet")));
    world.handshake_done(b, &a_id, Ok(()));
    world.run_for(Duration::from_millis(100));
    world.send(a, "chat", b"now", None).unwrap();
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(b).received.len(), 1);
}

#[test]
fn a_handshake_that_outlived_its_connection_cannot_admit_the_next_one() {
    let (mut world, a, b, a_id, b_id) = handshaking(5);
    let stale = world.log(a).handshake_conns[&b_id];
    world.run_for(rendez_core::room::DEFAULT_HANDSHAKE_TIMEOUT + Duration::from_millis(10));
    assert!(
        world.run_until(Duration::from_secs(90), |w| w.log(a).handshakes.len() == 2 && w.log(b).handshakes.len() == 2)
    );
    assert_ne!(world.log(a).handshake_conns[&b_id], stale);
    world.handshake_done_on(a, stale, Ok(()));
    world.handshake_done(b, &a_id, Ok(()));
    world.run_for(Duration::from_secs(1));
    assert!(world.log(a).joined.is_empty() && world.log(b).joined.is_empty(), "the stale pass admitted b");
    world.handshake_done(a, &b_id, Ok(()));
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(a).joined, vec![b_id]);
}

#[test]
fn oversized_handshake_data_is_refused_both_ways() {
    let (mut world, a, b, _, b_id) = handshaking(6);
    let limit = rendez_core::room::MAX_HANDSHAKE_DATA;
    assert!(world.handshake_send(a, &b_id, &vec![0; limit as usize + 1]).is_err());
    assert!(world.handshake_send(a, &b_id, &vec![0; limit as usize]).is_ok());
    use rendez_core::frame::{encode_data_header, DataHeader, PayloadKind, Purpose, TransferStart};
    let start = TransferStart {
        action: "handshake".into(),
        total: limit + 1,
        kind: PayloadKind::Binary,
        metadata: None,
        purpose: Purpose::Handshake,
    };
    let frame = encode_data_header(&DataHeader { transfer: 77, seq: 0, start: Some(start) }).unwrap();
    world.send_raw_frame(a, &b_id, frame);
    world.run_for(Duration::from_millis(100));
    assert!(
        world.log(b).warnings.iter().any(|w| w.contains("handshake data of 65537 bytes")),
        "{:?}",
        world.log(b).warnings
    );
    assert_eq!(world.log(b).handshake_data.len(), 1, "only the allowed one arrived");
}
