//! Requests: replies and refusals reach only the request they answer; timeouts count from
//! delivery; requests to actions not served yet are held, then served or refused; a peer that
//! leaves fails our requests at once and withdraws its own; aborts settle at once.

use rendez_core::room::{RequestError, MAX_HELD_REQUESTS, REQUEST_HOLD};
use rendez_sim::{StrategyKind, World};
use std::time::Duration;

fn pair(seed: u64) -> (World, usize, usize, String, String) {
    let mut world = World::new(StrategyKind::Torrent, seed);
    let (a, b) = (world.join_default(), world.join_default());
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
    let (a_id, b_id) = (world.peer_id(a).to_owned(), world.peer_id(b).to_owned());
    (world, a, b, a_id, b_id)
}

#[test]
fn a_served_request_gets_its_reply_and_a_refusal_its_message() {
    let (mut world, a, b, a_id, b_id) = pair(1);
    world.serve(b, "double", true);
    let first = world.request(a, "double", &[21], &b_id, Some(Duration::from_secs(1))).unwrap();
    let second = world.request(a, "double", &[5], &b_id, None).unwrap();
    world.run_for(Duration::from_millis(100));
    let received = world.log(b).requests_received.clone();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|(_, peer, action, _)| peer == &a_id && action == "double"));
    // Answered out of order: each reply reaches its own request.
    world.reply(b, received[1].0, Err("odd numbers are not welcome"));
    world.reply(b, received[0].0, Ok(&[42]));
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(a).requests[&first], Ok(vec![42]));
    assert_eq!(
        world.log(a).requests[&second],
        Err(RequestError::Rejected { peer: b_id.clone(), message: "odd numbers are not welcome".into() })
    );
    // A second answer to the same request goes nowhere.
    world.reply(b, received[0].0, Ok(&[43]));
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(a).requests[&first], Ok(vec![42]));
    assert!(world.log(a).received.is_empty(), "replies are not messages");
}

#[test]
fn the_timeout_counts_from_delivery_and_a_late_reply_is_ignored() {
    let (mut world, a, b, _, b_id) = pair(2);
    world.serve(b, "slow", true);
    let timeout = Duration::from_millis(500);
    let request = world.request(a, "slow", b"?", &b_id, Some(timeout)).unwrap();
    // Delivered after one hop; the ack needs another: the timeout runs from then.
    world.run_for(2 * world.latency + timeout - Duration::from_millis(1));
    assert!(!world.log(a).requests.contains_key(&request));
    world.run_for(Duration::from_millis(2));
    assert_eq!(world.log(a).requests[&request], Err(RequestError::Timeout { peer: b_id }));
    let incoming = world.log(b).requests_received[0].0;
    world.reply(b, incoming, Ok(b"late"));
    world.run_for(Duration::from_millis(100));
    assert!(world.log(a).requests[&request].is_err());
}

#[test]
fn requests_wait_for_their_handler_within_bounds() {
    let (mut world, a, b, _, b_id) = pair(3);
    // Served once the handler comes, within the hold.
    let early = world.request(a, "late-handler", b"1", &b_id, None).unwrap();
    world.run_for(REQUEST_HOLD - Duration::from_millis(200));
    assert!(world.log(b).requests_received.is_empty());
    world.serve(b, "late-handler", true);
    assert_eq!(world.log(b).requests_received.len(), 1);
    world.reply(b, world.log(b).requests_received[0].0, Ok(b"served"));
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.log(a).requests[&early], Ok(b"served".to_vec()));

    // Refused once the hold is over.
    let unserved = world.request(a, "nobody", b"2", &b_id, None).unwrap();
    world.run_for(REQUEST_HOLD + Duration::from_millis(100));
    let refusal = RequestError::Rejected { peer: b_id.clone(), message: "request handler unavailable".into() };
    assert_eq!(world.log(a).requests[&unserved], Err(refusal.clone()));

    // More than the bound at once: the excess is refused at once.
    let flood: Vec<_> =
        (0..MAX_HELD_REQUESTS + 3).map(|i| world.request(a, "nobody", &[i as u8], &b_id, None).unwrap()).collect();
    world.run_for(Duration::from_millis(200));
    let refused = flood.iter().filter(|r| world.log(a).requests.get(r) == Some(&Err(refusal.clone()))).count();
    assert_eq!(refused, 3);
    world.run_for(REQUEST_HOLD);
    assert!(flood.iter().all(|r| world.log(a).requests.get(r) == Some(&Err(refusal.clone()))));
}

#[test]
fn a_peer_that_leaves_fails_our_requests_at_once_and_withdraws_its_own() {
    let (mut world, a, b, _, b_id) = pair(4);
    world.serve(a, "ask", true);
    world.serve(b, "ask", true);
    let ours = world.request(a, "ask", b"x", &b_id, Some(Duration::from_secs(30))).unwrap();
    let a_id = world.peer_id(a).to_owned();
    world.request(b, "ask", b"y", &a_id, None).unwrap();
    world.run_for(Duration::from_millis(100));
    let theirs = world.log(a).requests_received[0].0;
    world.leave(b);
    let left_at = world.now();
    assert!(world.run_until(Duration::from_secs(1), |w| w.log(a).requests.contains_key(&ours)));
    assert!(world.now() - left_at < Duration::from_millis(100));
    assert_eq!(world.log(a).requests[&ours], Err(RequestError::Left { peer: b_id }));
    assert_eq!(world.log(a).requests_withdrawn, vec![theirs]);
}

#[test]
fn aborted_requests_and_sends_settle_at_once_and_free_the_receiver() {
    let (mut world, a, b, _, b_id) = pair(5);
    // Larger than the send buffer takes: the aborts find chunks not yet handed over.
    world.bandwidth = Some(1024 * 1024);
    world.serve(b, "big", true);
    let request = world.request(a, "big", &vec![7; 16 * 1024 * 1024], &b_id, None).unwrap();
    let send = world.send(a, "big", &vec![7; 16 * 1024 * 1024], Some(vec![b_id.clone()])).unwrap();
    world.run_for(Duration::from_millis(500));
    world.abort_request(a, request);
    world.abort_send(a, send);
    assert_eq!(world.log(a).requests[&request], Err(RequestError::Aborted));
    assert_eq!(world.log(a).sends[&send], Err(rendez_core::room::SendError::Aborted));
    world.run_for(rendez_core::room::TRANSFER_IDLE_TIMEOUT + Duration::from_secs(10));
    assert!(world.log(b).requests_received.is_empty() && world.log(b).received.is_empty());
    // Had the aborts not reached it, b would have dropped the stalled transfers itself, warning.
    assert!(!world.log(b).warnings.iter().any(|w| w.contains("nothing arrived")), "{:?}", world.log(b).warnings);
}
