//! Action payloads in JS memory: converting JS values to bytes and back, and [`JsBytes`], the
//! browser's [`Payload`] (a `Uint8Array` view the core slices without copying).

use crate::frame::PayloadKind;
use crate::payload::Payload;
use js_sys::{ArrayBuffer, JsString, Uint8Array};
use std::ops::Range;
use wasm_bindgen::prelude::*;

/// Bytes in JS memory.
#[derive(Debug, Clone)]
pub struct JsBytes(pub Uint8Array);

impl Payload for JsBytes {
    fn len(&self) -> u64 {
        u64::from(self.0.length())
    }

    fn slice(&self, range: Range<u64>) -> Self {
        Self(self.0.subarray(range.start as u32, range.end as u32))
    }

    fn to_vec(&self) -> Vec<u8> {
        self.0.to_vec()
    }

    fn copy_into(&self, dst: &mut [u8]) {
        self.0.copy_to(dst);
    }
}

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
    /// Throws a `RangeError` for text longer than the engine's longest string.
    #[wasm_bindgen(method, catch)]
    fn decode(this: &TextDecoder, bytes: &Uint8Array) -> Result<JsString, JsValue>;

    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    fn json_parse(text: &JsString) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = JSON, js_name = stringify, catch)]
    fn json_stringify(value: &JsValue) -> Result<JsValue, JsValue>;

    /// `Uint8Array`, where the browser may refuse the memory.
    #[wasm_bindgen(js_name = Uint8Array)]
    type FallibleBytes;
    /// `new Uint8Array(length)`, which throws a `RangeError` when the memory cannot be had.
    #[wasm_bindgen(constructor, catch, js_class = "Uint8Array")]
    fn new(length: u32) -> Result<FallibleBytes, JsValue>;
    /// `slice()`: a copy, which throws like the constructor.
    #[wasm_bindgen(method, catch, js_class = "Uint8Array", js_name = slice)]
    fn copy(this: &FallibleBytes) -> Result<Uint8Array, JsValue>;
}

thread_local! {
    static ENCODER: TextEncoder = TextEncoder::new();
    static DECODER: TextDecoder = TextDecoder::new();
}

/// Encodes a value for sending: strings as UTF-8 text, `ArrayBuffer` and every view as binary
/// (a view, not a copy), anything else as JSON. `undefined` and functions are refused.
pub fn encode(value: &JsValue) -> Result<(PayloadKind, Uint8Array), String> {
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
    let json = to_json(value)?.ok_or("action data cannot be undefined or a function")?;
    Ok((PayloadKind::Json, ENCODER.with(|e| e.encode(&json))))
}

/// JSON text of `value`, or `None` for values JSON cannot represent (`undefined`, functions).
pub fn to_json(value: &JsValue) -> Result<Option<JsString>, String> {
    let json = json_stringify(value).map_err(|e| format!("value is not serializable: {e:?}"))?;
    Ok(json.dyn_into::<JsString>().ok())
}

/// A new `Uint8Array` of `length` bytes, or why the browser would not give one.
pub fn allocate(length: u32) -> Result<Uint8Array, JsValue> {
    FallibleBytes::new(length).map(JsCast::unchecked_into)
}

/// Rebuilds the value from its received parts (views into the received messages).
pub fn decode(kind: PayloadKind, parts: Vec<JsBytes>, total: u64) -> Result<JsValue, JsValue> {
    let single = parts.len() == 1;
    let bytes = match <[JsBytes; 1]>::try_from(parts) {
        Ok([part]) => part.0,
        Err(parts) => {
            let whole = allocate(u32::try_from(total).map_err(|_| JsValue::from_str("payload too large"))?)?;
            let mut offset = 0;
            for part in parts {
                whole.set(&part.0, offset);
                offset += part.0.length();
            }
            whole
        }
    };
    match kind {
        // A single part views a received message that may hold more (a header): copy it out.
        PayloadKind::Binary if single => Ok(bytes.unchecked_ref::<FallibleBytes>().copy()?.buffer().into()),
        PayloadKind::Binary => Ok(bytes.buffer().into()),
        PayloadKind::Text => Ok(DECODER.with(|d| d.decode(&bytes))?.into()),
        PayloadKind::Json => json_parse(&DECODER.with(|d| d.decode(&bytes))?),
    }
}

/// Parses JSON text that came from the core (metadata); `undefined` for none or unreadable.
pub fn parse_json(text: Option<&str>) -> JsValue {
    text.and_then(|text| json_parse(&JsString::from(text)).ok()).unwrap_or(JsValue::UNDEFINED)
}
