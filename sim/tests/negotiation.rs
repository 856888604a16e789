//! Renegotiation of open connections for media, with perfect negotiation: when both peers add
//! media at once, both offers collide, the polite peer yields, and both still receive the other's
//! media with its metadata. The simulated connections refuse what a browser refuses (a step
//! overlapping another, an offer made while one is pending, an answer with no offer) and record it.

use rendez_sim::{StrategyKind, World};
use std::time::Duration;

#[test]
fn both_peers_adding_media_at_about_once_both_receive_with_no_step_refused() {
    for seed in 0..10 {
        let mut world = World::new(StrategyKind::Mqtt, 40 + seed);
        let (a, b) = (world.join_default(), world.join_default());
        assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
        let (a_id, b_id) = (world.peer_id(a).to_owned(), world.peer_id(b).to_owned());
        // b adds its media up to 45 ms later: while a's offer is made, travels, or arrives
        // during b's own.
        world.add_stream(a, &b_id, Some(r#"{"from":"a"}"#)).unwrap();
        world.run_for(Duration::from_millis(5 * seed));
        world.add_stream(b, &a_id, Some(r#"{"from":"b"}"#)).unwrap();
        world.run_for(Duration::from_secs(2));
        assert!(world.violations.is_empty(), "seed {seed}: {:?}", world.violations);
        for (p, from, metadata) in [(a, &b_id, r#"{"from":"b"}"#), (b, &a_id, r#"{"from":"a"}"#)] {
            let tracks = &world.log(p).tracks;
            assert_eq!(tracks.len(), 1, "seed {seed}: {tracks:?}");
            let (_, track) = &tracks[0];
            assert_eq!((&track.peer, track.metadata.as_deref(), track.new_stream), (from, Some(metadata), true));
        }
    }
}

#[test]
fn media_added_while_a_negotiation_runs_waits_for_it() {
    let mut world = World::new(StrategyKind::Torrent, 50);
    let (a, b) = (world.join_default(), world.join_default());
    assert!(world.run_until(Duration::from_secs(10), |w| w.full_mesh(&[a, b])));
    let (a_id, b_id) = (world.peer_id(a).to_owned(), world.peer_id(b).to_owned());
    for i in 0..3 {
        world.add_stream(a, &b_id, None).unwrap();
        world.add_stream(b, &a_id, None).unwrap();
        world.run_for(Duration::from_millis(7 * i));
    }
    world.run_for(Duration::from_secs(3));
    assert!(world.violations.is_empty(), "{:?}", world.violations);
    assert_eq!(world.log(a).tracks.len(), 3);
    assert_eq!(world.log(b).tracks.len(), 3);
    assert!(world.log(a).tracks.iter().all(|(_, t)| t.metadata.is_none() && t.new_stream));
}
