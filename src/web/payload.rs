//! Converting action payloads between JS values and bytes, entirely in JS memory.

use crate::frame::PayloadKind;
use js_sys::{ArrayBuffer, JsString, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    type TextEncoder;
    #[wasm_bindgen(constructor)]
    fn new() -> TextEncoder;
    #[wasm_bindgen(method)]
    fn encode(this: &TextEncoder, text: &JsString) -> Uint8Array;

    type TextDecoder;
    #[wasm_bindgen(constructor)]
    fn new() -> TextDecoder;
    #[wasm_bindgen(method)]
    fn decode(this: &TextDecoder, bytes: &Uint8Array) -> JsString;

    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    fn json_parse(text: &JsString) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = JSON, js_name = stringify, catch)]
    fn json_stringify(value: &JsValue) -> Result<JsValue, JsValue>;
}

thread_local! {
    static ENCODER: TextEncoder = TextEncoder::new();
    static DECODER: TextDecoder = TextDecoder::new();
}

/// Encodes a value for sending: strings as UTF-8 text, `ArrayBuffer` and every view as binary
/// (a view, not a copy), anything else as JSON. `undefined` and functions are refused.
pub fn encode(value: &JsValue) -> Result<(PayloadKind, Uint8Array), JsError> {
    if let Some(text) = value.dyn_ref::<JsString>() {
        return Ok((PayloadKind::Text, ENCODER.with(|e| e.encode(text))));
    }
    if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        return Ok((PayloadKind::Binary, Uint8Array::new(buffer)));
    }
    if ArrayBuffer::is_view(value) {
        let view: &js_sys::DataView = value.unchecked_ref();
        let bytes = Uint8Array::new_with_byte_offset_and_length(
            &view.buffer(),
            view.byte_offset() as u32,
            view.byte_length() as u32,
        );
        return Ok((PayloadKind::Binary, bytes));
    }
    let json = to_json(value)?.ok_or_else(|| JsError::new("rendez: action data cannot be undefined or a function"))?;
    Ok((PayloadKind::Json, ENCODER.with(|e| e.encode(&json))))
}

/// JSON text of `value`, or `None` for values JSON cannot represent (`undefined`, functions).
pub fn to_json(value: &JsValue) -> Result<Option<JsString>, JsError> {
    let json = json_stringify(value).map_err(|e| JsError::new(&format!("rendez: value is not serializable: {e:?}")))?;
    Ok(json.dyn_into::<JsString>().ok())
}

/// Rebuilds the value from its received parts (views into the received messages).
pub fn decode(kind: PayloadKind, parts: Vec<Uint8Array>, total: u32) -> Result<JsValue, JsValue> {
    let single = parts.len() == 1;
    let bytes = if single {
        parts.into_iter().next().expect("one part")
    } else {
        let whole = Uint8Array::new_with_length(total);
        let mut offset = 0;
        for part in parts {
            whole.set(&part, offset);
            offset += part.length();
        }
        whole
    };
    match kind {
        PayloadKind::Binary if single => Ok(bytes.slice(0, total).buffer().into()),
        PayloadKind::Binary => Ok(bytes.buffer().into()),
        PayloadKind::Text => Ok(DECODER.with(|d| d.decode(&bytes)).into()),
        PayloadKind::Json => json_parse(&DECODER.with(|d| d.decode(&bytes))),
    }
}

/// UTF-8 text of `bytes`, decoded by the browser.
pub fn decode_text(bytes: &Uint8Array) -> JsString {
    DECODER.with(|d| d.decode(bytes))
}

/// Parses JSON text received from a peer (metadata).
pub fn parse_json(text: &str) -> Result<JsValue, JsValue> {
    json_parse(&JsString::from(text))
}
