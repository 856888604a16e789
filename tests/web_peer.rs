//! The browser side of negotiation steps, in a real browser: two peer connections in one page,
//! wired back to back, connect with the steps the room issues, then renegotiate when both sides
//! offer at once (the polite side's offer rolled back by applying the other's).
#![cfg(target_arch = "wasm32")]

use js_sys::Promise;
use rendez_core::room::NegotiationStep;
use rendez_core::web::peer::negotiate;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{RtcConfiguration, RtcDataChannel, RtcDataChannelInit, RtcPeerConnection, RtcSignalingState};

wasm_bindgen_test_configure!(run_in_browser);

/// A connection with the room's pre-negotiated channel, and a promise of the channel opening.
fn connection() -> (RtcPeerConnection, Promise) {
    let config = RtcConfiguration::new();
    config.set_ice_servers(&js_sys::Array::new());
    let pc = RtcPeerConnection::new_with_configuration(&config).unwrap();
    let init = RtcDataChannelInit::new();
    init.set_negotiated(true);
    init.set_id(0);
    let channel: RtcDataChannel = pc.create_data_channel_with_data_channel_dict("rendez", &init);
    let opened = Promise::new(&mut |resolve, _| channel.set_onopen(Some(&resolve)));
    (pc, opened)
}

async fn step(pc: &RtcPeerConnection, step: NegotiationStep) -> Option<String> {
    negotiate(pc, step, false).await.unwrap_or_else(|e| panic!("step failed: {e}"))
}

#[wasm_bindgen_test]
async fn steps_connect_and_survive_both_sides_offering_at_once() {
    let (a, a_open) = connection();
    let (b, b_open) = connection();
    let offer = step(&a, NegotiationStep::MakeOffer).await.unwrap();
    assert!(offer.contains("m=application"), "{offer}");
    let answer = step(&b, NegotiationStep::ApplyOffer(offer)).await.unwrap();
    assert_eq!(step(&a, NegotiationStep::ApplyAnswer(answer)).await, None);
    JsFuture::from(a_open).await.unwrap();
    JsFuture::from(b_open).await.unwrap();

    // Both add a video and offer at once; b is the polite side.
    a.add_transceiver_with_str("video");
    b.add_transceiver_with_str("video");
    let offer_a = step(&a, NegotiationStep::MakeOffer).await.unwrap();
    let offer_b = step(&b, NegotiationStep::MakeOffer).await.unwrap();
    assert_eq!(b.signaling_state(), RtcSignalingState::HaveLocalOffer);
    let answer_b = step(&b, NegotiationStep::ApplyOffer(offer_a)).await.unwrap();
    assert!(answer_b.contains("m=video") && offer_b.contains("m=video"));
    assert_eq!(step(&a, NegotiationStep::ApplyAnswer(answer_b)).await, None);
    assert_eq!((a.signaling_state(), b.signaling_state()), (RtcSignalingState::Stable, RtcSignalingState::Stable));

    // b's media, rolled back, goes in its own offer next.
    let offer_b = step(&b, NegotiationStep::MakeOffer).await.unwrap();
    assert_eq!(offer_b.matches("m=video").count(), 2, "{offer_b}");
    let answer_a = step(&a, NegotiationStep::ApplyOffer(offer_b)).await.unwrap();
    assert_eq!(step(&b, NegotiationStep::ApplyAnswer(answer_a)).await, None);
    assert_eq!(a.get_transceivers().length(), 2);
    assert_eq!((a.signaling_state(), b.signaling_state()), (RtcSignalingState::Stable, RtcSignalingState::Stable));

    // A step the state does not allow fails with the browser's reason instead of throwing.
    let stale = negotiate(&a, NegotiationStep::ApplyAnswer("v=0".into()), false).await;
    assert!(stale.is_err(), "{stale:?}");
}
