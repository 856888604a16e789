//! The web-sys layer in a real browser: two peer connections in one page, wired back to back.
#![cfg(target_arch = "wasm32")]

use futures::channel::mpsc;
use futures::StreamExt;
use js_sys::Uint8Array;
use rendez_core::frame::{self, DataHeader, Header, PayloadKind, TransferStart};
use rendez_core::web::peer::{Peer, PeerEvent};
use std::rc::Rc;
use wasm_bindgen_test::*;
use web_sys::RtcConfiguration;

wasm_bindgen_test_configure!(run_in_browser);

fn peer() -> (Peer, mpsc::UnboundedReceiver<PeerEvent>) {
    let (tx, rx) = mpsc::unbounded();
    let config = RtcConfiguration::new();
    config.set_ice_servers(&js_sys::Array::new());
    let peer = Peer::new(&config, Rc::new(move |event| drop(tx.unbounded_send(event)))).unwrap();
    (peer, rx)
}

async fn next_open(events: &mut mpsc::UnboundedReceiver<PeerEvent>) {
    loop {
        if let PeerEvent::Open = events.next().await.expect("peer event stream ended") {
            return;
        }
    }
}

#[wasm_bindgen_test]
async fn peers_connect_exchange_a_frame_and_see_the_close() {
    let (a, mut a_events) = peer();
    let (b, mut b_events) = peer();
    let offer = a.create_offer().await.unwrap();
    assert!(offer.contains("m=application"), "{offer}");
    let answer = b.accept_offer(&offer).await.unwrap();
    a.accept_answer(&answer).await.unwrap();
    next_open(&mut a_events).await;
    next_open(&mut b_events).await;

    let header = DataHeader {
        transfer: 5,
        seq: 0,
        start: Some(TransferStart { action: "t".into(), total: 3, kind: PayloadKind::Binary, metadata: None }),
    };
    let mut bytes = frame::encode_data_header(&header).unwrap();
    bytes.extend_from_slice(&[1, 2, 3]);
    a.room_for(bytes.len() as u32).await.unwrap();
    a.send(&Uint8Array::from(&bytes[..])).unwrap();
    let received = loop {
        if let PeerEvent::Message(buffer) = b_events.next().await.unwrap() {
            break Uint8Array::new(&buffer).to_vec();
        }
    };
    let (head, payload) = frame::split(&received).unwrap();
    assert_eq!(frame::decode_header(head).unwrap(), Header::Data(header));
    assert_eq!(payload, [1, 2, 3]);

    a.close();
    loop {
        if let PeerEvent::Closed = b_events.next().await.unwrap() {
            break;
        }
    }
    assert!(a.room_for(1).await.is_err(), "a closed channel has no room");
}
