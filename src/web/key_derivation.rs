//! The room key, stretched by the browser: WebCrypto runs PBKDF2 natively and off the main
//! thread, so `joinRoom` returns at once and the room connects to its relays meanwhile. Where
//! WebCrypto is missing (a page served over plain http from another host is not a secure
//! context), the key is derived in Wasm instead, with the same result; where it refuses, too,
//! with a console warning (the Wasm derivation then blocks the page for 70–100 ms).

use super::console::warn;
use super::peer::describe;
use crate::crypto::{RoomKey, StretchInput, PBKDF2_ITERATIONS};
use js_sys::{Array, ArrayBuffer, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, Pbkdf2Params, SubtleCrypto};

/// Derives the key of room `room_id` of `app_id` with `password`.
pub async fn derive(password: Option<&str>, app_id: &str, room_id: &str) -> RoomKey {
    let input = StretchInput::new(password, app_id, room_id);
    match stretch(&input).await {
        Ok(stretched) => RoomKey::from_stretched(&stretched),
        Err(e) => {
            if subtle().is_some() {
                warn(&format!("WebCrypto could not derive the room key ({}); deriving it in Wasm", describe(&e)));
            }
            RoomKey::stretch(&input)
        }
    }
}

/// The page's `crypto.subtle`, if it has one (only secure contexts do).
fn subtle() -> Option<JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    Reflect::get(&crypto, &"subtle".into()).ok().filter(JsValue::is_object)
}

/// PBKDF2-HMAC-SHA256 of `input` in [`PBKDF2_ITERATIONS`] rounds, by WebCrypto.
pub async fn stretch(input: &StretchInput) -> Result<[u8; 32], JsValue> {
    let subtle: SubtleCrypto = subtle().ok_or("no WebCrypto")?.unchecked_into();
    let secret = Uint8Array::from(input.secret.as_bytes());
    let usages = Array::of1(&"deriveBits".into());
    let imported = subtle.import_key_with_str("raw", &secret, "PBKDF2", false, &usages)?;
    let base: CryptoKey = JsFuture::from(imported).await?.unchecked_into();
    let salt = Uint8Array::from(&input.salt[..]);
    let params = Pbkdf2Params::new_with_str("PBKDF2", "SHA-256", PBKDF2_ITERATIONS, &salt);
    let bits: ArrayBuffer = JsFuture::from(subtle.derive_bits_with_object(&params, &base, 256)?).await?.dyn_into()?;
    let mut stretched = [0u8; 32];
    let bits = Uint8Array::new(&bits);
    if bits.length() != 32 {
        return Err("WebCrypto gave the wrong length".into());
    }
    bits.copy_to(&mut stretched);
    Ok(stretched)
}
