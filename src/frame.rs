//! The DataChannel frame format.
//!
//! Every DataChannel message is `[header length: u16 BE][header][payload]`. Rust builds and
//! reads headers only; payload bytes stay in JS memory. Header layout by kind byte:
//!
//! * `1` data chunk: `transfer: u32`, `seq: u32`, and when `seq == 0` the transfer's start:
//!   `action name: u8 len + UTF-8`, `total payload length: u64`, `payload kind: u8`,
//!   `metadata: u32 len + UTF-8 JSON` (length `u32::MAX` means no metadata), then the
//!   transfer's [`Purpose`] when it is not a plain message: `purpose: u8` and, for requests and
//!   replies, `request: u32`.
//!
//! * `2` ping and `3` pong: `nonce: u32`; no payload.
//! * `4` ack and `5` reject: `transfer: u32`; the receiver got the whole transfer, or dropped it.
//! * `6` renegotiation and `7` media metadata: no header fields; the payload is UTF-8 JSON.
//! * `8` abort: `transfer: u32`; the sender gave the transfer up, so the receiver drops it.
//! * `9` ready: no fields; the sender admitted us (its handshake passed).
//! * `10` link proof: no header fields; the payload is the sender's sealed proof that it holds
//!   the room key, the first frame of a room joined over a shared connection.
//!
//! * `11` peers and `12` relayed signaling: no header fields; the payload is UTF-8 JSON.
//! * `13`–`21`: streamed transfers, see [`crate::stream_frame`].
//!
//! Unknown kinds decode to [`Header::Unknown`] so newer peers can add kinds.

use crate::stream_frame::{self, StreamHeader, KIND_STREAM_GONE, KIND_STREAM_OPEN};
use std::fmt;

/// Bytes before the header: its length as a big-endian `u16`.
pub const PREFIX_LEN: usize = 2;
/// Longest action name, in UTF-8 bytes.
pub const MAX_ACTION_NAME_LEN: usize = u8::MAX as usize;
/// Longest metadata JSON that fits in a first-chunk header.
pub const MAX_METADATA_LEN: usize = 16 * 1024;

const KIND_DATA: u8 = 1;
const KIND_PING: u8 = 2;
const KIND_PONG: u8 = 3;
const KIND_ACK: u8 = 4;
const KIND_REJECT: u8 = 5;
const KIND_RENEGOTIATION: u8 = 6;
const KIND_MEDIA: u8 = 7;
const KIND_ABORT: u8 = 8;
const KIND_READY: u8 = 9;
const KIND_LINK_PROOF: u8 = 10;
const KIND_PEERS: u8 = 11;
const KIND_RELAYED: u8 = 12;
const PURPOSE_REQUEST: u8 = 1;
const PURPOSE_REPLY: u8 = 2;
const PURPOSE_REFUSAL: u8 = 3;
const PURPOSE_HANDSHAKE: u8 = 4;
const NO_METADATA: u32 = u32::MAX;

/// How a payload's bytes are to be read back into a JS value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// UTF-8 JSON text (numbers, booleans, null, objects, arrays).
    Json = 1,
    /// A UTF-8 string.
    Text = 2,
    /// Raw bytes, delivered as an `ArrayBuffer`.
    Binary = 3,
}

impl PayloadKind {
    pub(crate) fn from_byte(b: u8) -> Result<Self, FrameError> {
        match b {
            1 => Ok(Self::Json),
            2 => Ok(Self::Text),
            3 => Ok(Self::Binary),
            other => Err(FrameError::UnknownPayloadKind(other)),
        }
    }
}

/// What a transfer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Purpose {
    /// A message of an action.
    #[default]
    Message,
    /// Request `id` of the sender, to be answered with a [`Purpose::Reply`] or [`Purpose::Refusal`].
    Request(u32),
    /// The answer to our request `id`.
    Reply(u32),
    /// Our request `id` was refused; the metadata says why (a JSON string).
    Refusal(u32),
    /// Admission handshake data, the only data a peer takes before it admits us.
    Handshake,
}

/// Describes a transfer; carried by its first chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferStart {
    pub action: String,
    pub total: u64,
    pub kind: PayloadKind,
    pub metadata: Option<String>,
    pub purpose: Purpose,
}

/// The header of one data chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataHeader {
    pub transfer: u32,
    pub seq: u32,
    pub start: Option<TransferStart>,
}

/// A decoded frame header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    Data(DataHeader),
    /// A round-trip probe; answered with a pong carrying the same nonce.
    Ping(u32),
    Pong(u32),
    /// The receiver holds the whole of this transfer.
    Ack(u32),
    /// The receiver dropped this transfer.
    Reject(u32),
    /// A session description for renegotiating media; JSON payload.
    Renegotiation,
    /// Metadata of a stream about to be added; JSON payload.
    Media,
    /// The sender gave this transfer up.
    Abort(u32),
    /// The sender admitted us.
    Ready,
    /// The sender's proof that it holds the room key; sealed text payload.
    LinkProof,
    /// The peers the sender has in the room; JSON payload.
    Peers,
    /// Signaling between two peers carried by the sender; JSON payload.
    Relayed,
    /// A frame of a streamed transfer (see [`crate::stream_frame`]).
    Stream(StreamHeader),
    /// A kind this version does not know; ignored for forward compatibility.
    Unknown(u8),
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    Truncated,
    HeaderTooLong,
    ActionNameTooLong,
    MetadataTooLong,
    NotUtf8,
    UnknownPayloadKind(u8),
    /// A chunk other than the first carries transfer-start fields, or the first lacks them.
    StartMismatch,
    UnknownPurpose(u8),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("frame is truncated"),
            Self::HeaderTooLong => f.write_str("frame header is longer than the frame"),
            Self::ActionNameTooLong => f.write_str("action name is too long"),
            Self::MetadataTooLong => f.write_str("metadata is too long"),
            Self::NotUtf8 => f.write_str("frame text is not UTF-8"),
            Self::UnknownPayloadKind(k) => write!(f, "unknown payload kind {k}"),
            Self::StartMismatch => f.write_str("transfer start fields do not match the chunk number"),
            Self::UnknownPurpose(p) => write!(f, "unknown transfer purpose {p}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Encodes `[length prefix][header]` for a data chunk; the payload is appended by the caller.
pub fn encode_data_header(header: &DataHeader) -> Result<Vec<u8>, FrameError> {
    if (header.seq == 0) != header.start.is_some() {
        return Err(FrameError::StartMismatch);
    }
    let mut out = vec![0, 0, KIND_DATA];
    out.extend_from_slice(&header.transfer.to_be_bytes());
    out.extend_from_slice(&header.seq.to_be_bytes());
    if let Some(start) = &header.start {
        let name = start.action.as_bytes();
        if name.len() > MAX_ACTION_NAME_LEN {
            return Err(FrameError::ActionNameTooLong);
        }
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out.extend_from_slice(&start.total.to_be_bytes());
        out.push(start.kind as u8);
        match &start.metadata {
            Some(meta) if meta.len() > MAX_METADATA_LEN => return Err(FrameError::MetadataTooLong),
            Some(meta) => {
                out.extend_from_slice(&(meta.len() as u32).to_be_bytes());
                out.extend_from_slice(meta.as_bytes());
            }
            None => out.extend_from_slice(&NO_METADATA.to_be_bytes()),
        }
        match start.purpose {
            Purpose::Message => {}
            Purpose::Handshake => out.push(PURPOSE_HANDSHAKE),
            Purpose::Request(id) | Purpose::Reply(id) | Purpose::Refusal(id) => {
                out.push(match start.purpose {
                    Purpose::Request(_) => PURPOSE_REQUEST,
                    Purpose::Reply(_) => PURPOSE_REPLY,
                    _ => PURPOSE_REFUSAL,
                });
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
    }
    let len = u16::try_from(out.len() - PREFIX_LEN).map_err(|_| FrameError::MetadataTooLong)?;
    out[..PREFIX_LEN].copy_from_slice(&len.to_be_bytes());
    Ok(out)
}

/// `[length prefix][header]` of a data chunk after the first (which alone carries the start).
pub fn encode_chunk_header(transfer: u32, seq: u32) -> Vec<u8> {
    let mut out = vec![0, 9, KIND_DATA];
    out.extend_from_slice(&transfer.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

/// A whole ping frame.
pub fn encode_ping(nonce: u32) -> Vec<u8> {
    control_frame(KIND_PING, nonce)
}

/// A whole pong frame.
pub fn encode_pong(nonce: u32) -> Vec<u8> {
    control_frame(KIND_PONG, nonce)
}

/// A whole ack frame for `transfer`.
pub fn encode_ack(transfer: u32) -> Vec<u8> {
    control_frame(KIND_ACK, transfer)
}

/// A whole reject frame for `transfer`.
pub fn encode_reject(transfer: u32) -> Vec<u8> {
    control_frame(KIND_REJECT, transfer)
}

/// A whole abort frame for `transfer`.
pub fn encode_abort(transfer: u32) -> Vec<u8> {
    control_frame(KIND_ABORT, transfer)
}

/// A whole ready frame.
pub fn encode_ready() -> Vec<u8> {
    vec![0, 1, KIND_READY]
}

/// A whole renegotiation frame carrying `json`.
pub fn encode_renegotiation(json: &str) -> Vec<u8> {
    text_frame(KIND_RENEGOTIATION, json)
}

/// A whole link-proof frame carrying `sealed`.
pub fn encode_link_proof(sealed: &str) -> Vec<u8> {
    text_frame(KIND_LINK_PROOF, sealed)
}

/// A whole peer-list frame carrying `json`.
pub fn encode_peers(json: &str) -> Vec<u8> {
    text_frame(KIND_PEERS, json)
}

/// A whole relayed-signaling frame carrying `json`.
pub fn encode_relayed(json: &str) -> Vec<u8> {
    text_frame(KIND_RELAYED, json)
}

/// A whole media-metadata frame carrying `json`.
pub fn encode_media(json: &str) -> Vec<u8> {
    text_frame(KIND_MEDIA, json)
}

fn text_frame(kind: u8, json: &str) -> Vec<u8> {
    let mut out = vec![0, 1, kind];
    out.extend_from_slice(json.as_bytes());
    out
}

fn control_frame(kind: u8, nonce: u32) -> Vec<u8> {
    let mut out = vec![0, 5, kind];
    out.extend_from_slice(&nonce.to_be_bytes());
    out
}

/// Where the header ends and the payload starts in a frame of `frame_len` bytes that begins
/// with `prefix` (`None` when the frame is shorter than the prefix).
pub fn payload_offset(prefix: Option<[u8; PREFIX_LEN]>, frame_len: usize) -> Result<usize, FrameError> {
    let end = PREFIX_LEN + usize::from(u16::from_be_bytes(prefix.ok_or(FrameError::Truncated)?));
    if end > frame_len {
        return Err(FrameError::HeaderTooLong);
    }
    Ok(end)
}

/// Bytes read at once from a received frame: enough for every header but long first-chunk ones.
const HEADER_PEEK: u64 = 64;

/// Decodes the header of a received frame held by the driver, copying only header bytes into
/// Rust memory; returns it with the offset where the payload starts.
pub fn read_header<P: crate::payload::Payload>(frame: &P) -> Result<(Header, u64), FrameError> {
    let len = frame.len();
    let peek = frame.slice(0..len.min(HEADER_PEEK)).to_vec();
    let prefix = peek.get(..PREFIX_LEN).and_then(|p| p.try_into().ok());
    let end = payload_offset(prefix, len as usize)? as u64;
    let header = if end <= peek.len() as u64 {
        decode_header(&peek[PREFIX_LEN..end as usize])?
    } else {
        decode_header(&frame.slice(PREFIX_LEN as u64..end).to_vec())?
    };
    Ok((header, end))
}

/// Splits a whole frame into its header bytes and payload bytes.
pub fn split(frame: &[u8]) -> Result<(&[u8], &[u8]), FrameError> {
    let prefix = frame.get(..PREFIX_LEN).and_then(|p| p.try_into().ok());
    let end = payload_offset(prefix, frame.len())?;
    Ok((&frame[PREFIX_LEN..end], &frame[end..]))
}

/// Decodes header bytes (without the length prefix).
pub fn decode_header(bytes: &[u8]) -> Result<Header, FrameError> {
    let mut r = Reader(bytes);
    match r.u8()? {
        KIND_DATA => {
            let transfer = r.u32()?;
            let seq = r.u32()?;
            let start = if seq == 0 { Some(decode_start(&mut r)?) } else { None };
            Ok(Header::Data(DataHeader { transfer, seq, start }))
        }
        KIND_PING => Ok(Header::Ping(r.u32()?)),
        KIND_PONG => Ok(Header::Pong(r.u32()?)),
        KIND_ACK => Ok(Header::Ack(r.u32()?)),
        KIND_REJECT => Ok(Header::Reject(r.u32()?)),
        KIND_RENEGOTIATION => Ok(Header::Renegotiation),
        KIND_MEDIA => Ok(Header::Media),
        KIND_ABORT => Ok(Header::Abort(r.u32()?)),
        KIND_READY => Ok(Header::Ready),
        KIND_LINK_PROOF => Ok(Header::LinkProof),
        KIND_PEERS => Ok(Header::Peers),
        KIND_RELAYED => Ok(Header::Relayed),
        kind @ KIND_STREAM_OPEN..=KIND_STREAM_GONE => Ok(Header::Stream(stream_frame::decode(kind, &mut r)?)),
        other => Ok(Header::Unknown(other)),
    }
}

fn decode_start(r: &mut Reader<'_>) -> Result<TransferStart, FrameError> {
    let name_len = usize::from(r.u8()?);
    let action = r.text(name_len)?;
    let total = r.u64()?;
    let kind = PayloadKind::from_byte(r.u8()?)?;
    let metadata = match r.u32()? {
        NO_METADATA => None,
        len if len as usize > MAX_METADATA_LEN => return Err(FrameError::MetadataTooLong),
        len => Some(r.text(len as usize)?),
    };
    let purpose = match r.0.first() {
        None => Purpose::Message,
        Some(_) => match r.u8()? {
            PURPOSE_REQUEST => Purpose::Request(r.u32()?),
            PURPOSE_REPLY => Purpose::Reply(r.u32()?),
            PURPOSE_REFUSAL => Purpose::Refusal(r.u32()?),
            PURPOSE_HANDSHAKE => Purpose::Handshake,
            other => return Err(FrameError::UnknownPurpose(other)),
        },
    };
    Ok(TransferStart { action, total, kind, metadata, purpose })
}

pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if n > self.0.len() {
            return Err(FrameError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], FrameError> {
        Ok(self.take(N)?.try_into().expect("take returned N bytes"))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, FrameError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, FrameError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn text(&mut self, n: usize) -> Result<String, FrameError> {
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| FrameError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn first(meta: Option<&str>) -> DataHeader {
        DataHeader {
            transfer: 7,
            seq: 0,
            start: Some(TransferStart {
                action: "chat".into(),
                total: 1 << 40,
                kind: PayloadKind::Binary,
                metadata: meta.map(str::to_owned),
                purpose: Purpose::Message,
            }),
        }
    }

    fn roundtrip(header: &DataHeader) -> Header {
        let mut frame = encode_data_header(header).unwrap();
        frame.extend_from_slice(b"payload");
        let (head, payload) = split(&frame).unwrap();
        assert_eq!(payload, b"payload");
        decode_header(head).unwrap()
    }

    #[test]
    fn data_headers_roundtrip() {
        for header in [
            first(None),
            first(Some(r#"{"name":"a.txt"}"#)),
            first(Some("")),
            DataHeader { transfer: u32::MAX, seq: 3, start: None },
        ] {
            assert_eq!(roundtrip(&header), Header::Data(header));
        }
    }

    #[test]
    fn continuation_headers_match_the_general_encoder() {
        let header = DataHeader { transfer: 0xdead_beef, seq: 7, start: None };
        assert_eq!(encode_chunk_header(0xdead_beef, 7), encode_data_header(&header).unwrap());
    }

    #[test]
    fn pings_and_pongs_roundtrip() {
        let ping = encode_ping(0xdead_beef);
        assert_eq!(decode_header(split(&ping).unwrap().0), Ok(Header::Ping(0xdead_beef)));
        let pong = encode_pong(7);
        assert_eq!(split(&pong).unwrap(), (&pong[2..], &[][..]));
        assert_eq!(decode_header(&pong[2..]), Ok(Header::Pong(7)));
        assert_eq!(decode_header(&pong[2..6]), Err(FrameError::Truncated));
        assert_eq!(decode_header(&encode_ack(9)[2..]), Ok(Header::Ack(9)));
        assert_eq!(decode_header(&encode_reject(9)[2..]), Ok(Header::Reject(9)));
        assert_eq!(decode_header(&encode_abort(9)[2..]), Ok(Header::Abort(9)));
        assert_eq!(decode_header(split(&encode_ready()).unwrap().0), Ok(Header::Ready));
        assert_eq!(decode_header(split(&encode_link_proof("x")).unwrap().0), Ok(Header::LinkProof));
        assert_eq!(decode_header(split(&encode_peers("[]")).unwrap().0), Ok(Header::Peers));
        assert_eq!(decode_header(split(&encode_relayed("{}")).unwrap().0), Ok(Header::Relayed));
        let media = encode_media("{}");
        assert_eq!(split(&media).unwrap(), (&[7u8][..], &b"{}"[..]));
        assert_eq!(decode_header(split(&encode_renegotiation("x")).unwrap().0), Ok(Header::Renegotiation));
    }

    #[test]
    fn headers_are_read_from_driver_held_frames() {
        use crate::payload::SharedBytes;
        let mut long = encode_data_header(&first(Some(&"m".repeat(200)))).unwrap();
        long.extend_from_slice(b"body");
        for frame in [
            long,
            encode_ping(3),
            [encode_data_header(&DataHeader { transfer: 1, seq: 2, start: None }).unwrap(), b"x".to_vec()].concat(),
        ] {
            let (head, body) = split(&frame).unwrap();
            let (header, offset) = read_header(&SharedBytes::from(frame.clone())).unwrap();
            assert_eq!(header, decode_header(head).unwrap());
            assert_eq!(&frame[offset as usize..], body);
        }
        assert_eq!(read_header(&SharedBytes::from(vec![0])), Err(FrameError::Truncated));
        assert_eq!(read_header(&SharedBytes::from(vec![0, 200, 1])), Err(FrameError::HeaderTooLong));
    }

    #[test]
    fn unknown_kinds_are_not_errors() {
        assert_eq!(decode_header(&[99, 1, 2, 3]), Ok(Header::Unknown(99)));
    }

    #[test]
    fn start_fields_must_match_the_chunk_number() {
        let bad = DataHeader { transfer: 1, seq: 1, start: first(None).start };
        assert_eq!(encode_data_header(&bad), Err(FrameError::StartMismatch));
    }

    #[test]
    fn oversized_names_and_metadata_are_refused() {
        let mut h = first(None);
        h.start.as_mut().unwrap().action = "x".repeat(256);
        assert_eq!(encode_data_header(&h), Err(FrameError::ActionNameTooLong));
        let h = first(Some(&"m".repeat(MAX_METADATA_LEN + 1)));
        assert_eq!(encode_data_header(&h), Err(FrameError::MetadataTooLong));
    }

    #[test]
    fn lying_lengths_are_errors() {
        assert_eq!(split(&[0]), Err(FrameError::Truncated));
        assert_eq!(split(&[0, 10, 1]), Err(FrameError::HeaderTooLong));
        let mut head = encode_data_header(&first(None)).unwrap()[PREFIX_LEN..].to_vec();
        head.truncate(head.len() - 1);
        assert_eq!(decode_header(&head), Err(FrameError::Truncated));
        assert_eq!(decode_header(&[1, 0, 0, 0, 1, 0, 0, 0, 0, 200]), Err(FrameError::Truncated));
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok((head, _)) = split(&bytes) {
                let _ = decode_header(head);
            }
            let _ = decode_header(&bytes);
        }

        #[test]
        fn any_valid_header_roundtrips(
            transfer in any::<u32>(), total in any::<u64>(), action in "\\PC{0,40}",
            meta in proptest::option::of("\\PC{0,200}"), kind in 1u8..=3, purpose in 0usize..5, id in any::<u32>(),
        ) {
            let header = DataHeader {
                transfer, seq: 0,
                start: Some(TransferStart {
                action, total, kind: PayloadKind::from_byte(kind).unwrap(), metadata: meta,
                purpose: [Purpose::Message, Purpose::Handshake, Purpose::Request(id), Purpose::Reply(id), Purpose::Refusal(id)][purpose],
            }),
            };
            prop_assert_eq!(roundtrip(&header), Header::Data(header));
        }
    }
}
