//! The room key stretched by the browser's WebCrypto is the key the Wasm derivation makes, so
//! pages meet whichever way each derived it.
#![cfg(target_arch = "wasm32")]

use rendez_core::crypto::{RoomKey, StretchInput};
use rendez_core::random::Random;
use rendez_core::web::key_derivation::{derive, stretch};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn webcrypto_stretches_the_key_wasm_derives() {
    for (password, room) in [(Some("correct horse"), "room"), (None, "ünïcode room")] {
        let stretched = stretch(&StretchInput::new(password, "app", room)).await.expect("WebCrypto stretches");
        let by_webcrypto = RoomKey::from_stretched(&stretched);
        let by_wasm = RoomKey::derive(password, "app", room);
        assert_eq!(by_webcrypto.tag(), by_wasm.tag());
        let sealed = by_wasm.seal(&mut Random::os(), "v=0", "offer:A");
        assert_eq!(by_webcrypto.open(&sealed, "offer:A").as_deref(), Ok("v=0"));
        assert_eq!(derive(password, "app", room).await.tag(), by_wasm.tag());
    }
}
