//! Frames of streamed transfers (see `room::streams`), in the DataChannel frame format of
//! [`crate::frame`]. A stream is named on the wire by a handle its sender picks per connection;
//! sender-to-receiver and receiver-to-sender kinds are distinct, so handles never collide.
//!
//! Sender to receiver:
//! * `13` open: `handle: u32`, `id: [u8; 16]` (random, the same on every connection the stream
//!   may take, for resuming it; receivers do not use it yet),
//!   `offset: u64` (where the data starts), `size: u64` (`u64::MAX`: unknown until the end),
//!   `payload kind: u8`, `action name: u8 len + UTF-8`, `metadata: u32 len + UTF-8 JSON`
//!   (`u32::MAX`: none).
//! * `14` data: `handle: u32`, `offset: u64`; the payload is the bytes at that offset.
//! * `15` end: `handle: u32`, `size: u64`, `sha256: [u8; 32]` of the whole payload.
//! * `16` abort: `handle: u32`; the sender gave the stream up.
//! * `21` gone: `id: [u8; 16]`; the answer to a claim of a stream the sender no longer has.
//!
//! Receiver to sender:
//! * `17` credit: `handle: u32`, `until: u64`; data may be sent up to that offset (sent at once
//!   after the open, so the sender knows the stream was taken).
//! * `18` closed: `handle: u32`, `reason: u8` ([`CloseReason`]).
//! * `19` resume: `handle: u32`, `offset: u64`; the answer to an open whose id names a stream cut
//!   off with an earlier connection: the receiver holds its first `offset` bytes, and the sender
//!   goes on from there (the credit frame follows).
//! * `20` claim: `id: [u8; 16]`; a receiver whose page reloaded asks for the stream with that id
//!   (see `room::stream_adoption`): the sender opens it anew to the claimant, who answers with a
//!   resume frame.

use crate::frame::{FrameError, PayloadKind, Reader, MAX_ACTION_NAME_LEN, MAX_METADATA_LEN, PREFIX_LEN};

pub(crate) const KIND_STREAM_OPEN: u8 = 13;
pub(crate) const KIND_STREAM_DATA: u8 = 14;
pub(crate) const KIND_STREAM_END: u8 = 15;
pub(crate) const KIND_STREAM_ABORT: u8 = 16;
pub(crate) const KIND_STREAM_CREDIT: u8 = 17;
pub(crate) const KIND_STREAM_CLOSED: u8 = 18;
pub(crate) const KIND_STREAM_RESUME: u8 = 19;
pub(crate) const KIND_STREAM_CLAIM: u8 = 20;
pub(crate) const KIND_STREAM_GONE: u8 = 21;
const UNKNOWN_SIZE: u64 = u64::MAX;
const NO_METADATA: u32 = u32::MAX;

/// Length of a stream's id.
pub const STREAM_ID_LEN: usize = 16;
/// Length of a SHA-256 digest.
pub const DIGEST_LEN: usize = 32;

/// Describes a stream; carried by its open frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOpen {
    pub handle: u32,
    pub id: [u8; STREAM_ID_LEN],
    pub offset: u64,
    /// Total bytes, when known before the end.
    pub size: Option<u64>,
    pub kind: PayloadKind,
    pub action: String,
    pub metadata: Option<String>,
}

/// Why a receiver closed a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Every byte arrived and the SHA-256 matched.
    Verified = 0,
    /// The SHA-256 of what arrived differs from the sender's.
    Integrity = 1,
    /// The receiving app cancelled it.
    Cancelled = 2,
    /// The receiver does not take it (no room for it, or it broke the protocol).
    Refused = 3,
    /// The receiver left the room.
    Left = 4,
}

/// A decoded stream frame header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamHeader {
    Open(StreamOpen),
    Data { handle: u32, offset: u64 },
    End { handle: u32, size: u64, digest: [u8; DIGEST_LEN] },
    Abort(u32),
    Credit { handle: u32, until: u64 },
    Closed { handle: u32, reason: CloseReason },
    Resume { handle: u32, offset: u64 },
    Claim { id: [u8; STREAM_ID_LEN] },
    Gone { id: [u8; STREAM_ID_LEN] },
}

/// `[length prefix][header]` of a stream's open frame.
pub fn encode_open(open: &StreamOpen) -> Result<Vec<u8>, FrameError> {
    let name = open.action.as_bytes();
    if name.len() > MAX_ACTION_NAME_LEN {
        return Err(FrameError::ActionNameTooLong);
    }
    if open.metadata.as_ref().is_some_and(|m| m.len() > MAX_METADATA_LEN) {
        return Err(FrameError::MetadataTooLong);
    }
    let mut out = vec![0, 0, KIND_STREAM_OPEN];
    out.extend_from_slice(&open.handle.to_be_bytes());
    out.extend_from_slice(&open.id);
    out.extend_from_slice(&open.offset.to_be_bytes());
    out.extend_from_slice(&open.size.unwrap_or(UNKNOWN_SIZE).to_be_bytes());
    out.push(open.kind as u8);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    match &open.metadata {
        Some(meta) => {
            out.extend_from_slice(&(meta.len() as u32).to_be_bytes());
            out.extend_from_slice(meta.as_bytes());
        }
        None => out.extend_from_slice(&NO_METADATA.to_be_bytes()),
    }
    let len = u16::try_from(out.len() - PREFIX_LEN).map_err(|_| FrameError::MetadataTooLong)?;
    out[..PREFIX_LEN].copy_from_slice(&len.to_be_bytes());
    Ok(out)
}

/// `[length prefix][header]` of a data frame; the bytes at `offset` follow.
pub fn encode_data(handle: u32, offset: u64) -> Vec<u8> {
    fixed(KIND_STREAM_DATA, handle, &offset.to_be_bytes())
}

/// A whole end frame.
pub fn encode_end(handle: u32, size: u64, digest: &[u8; DIGEST_LEN]) -> Vec<u8> {
    let mut fields = size.to_be_bytes().to_vec();
    fields.extend_from_slice(digest);
    fixed(KIND_STREAM_END, handle, &fields)
}

/// A whole abort frame.
pub fn encode_abort(handle: u32) -> Vec<u8> {
    fixed(KIND_STREAM_ABORT, handle, &[])
}

/// A whole credit frame.
pub fn encode_credit(handle: u32, until: u64) -> Vec<u8> {
    fixed(KIND_STREAM_CREDIT, handle, &until.to_be_bytes())
}

/// A whole resume frame.
pub fn encode_resume(handle: u32, offset: u64) -> Vec<u8> {
    fixed(KIND_STREAM_RESUME, handle, &offset.to_be_bytes())
}

/// A whole closed frame.
pub fn encode_closed(handle: u32, reason: CloseReason) -> Vec<u8> {
    fixed(KIND_STREAM_CLOSED, handle, &[reason as u8])
}

/// A whole claim frame.
pub fn encode_claim(id: &[u8; STREAM_ID_LEN]) -> Vec<u8> {
    by_id(KIND_STREAM_CLAIM, id)
}

/// A whole gone frame.
pub fn encode_gone(id: &[u8; STREAM_ID_LEN]) -> Vec<u8> {
    by_id(KIND_STREAM_GONE, id)
}

fn by_id(kind: u8, id: &[u8; STREAM_ID_LEN]) -> Vec<u8> {
    let mut out = ((1 + STREAM_ID_LEN) as u16).to_be_bytes().to_vec();
    out.push(kind);
    out.extend_from_slice(id);
    out
}

fn fixed(kind: u8, handle: u32, fields: &[u8]) -> Vec<u8> {
    let len = (1 + 4 + fields.len()) as u16;
    let mut out = len.to_be_bytes().to_vec();
    out.push(kind);
    out.extend_from_slice(&handle.to_be_bytes());
    out.extend_from_slice(fields);
    out
}

/// Decodes the fields of a stream frame of `kind`.
pub(crate) fn decode(kind: u8, r: &mut Reader<'_>) -> Result<StreamHeader, FrameError> {
    match kind {
        KIND_STREAM_CLAIM => return Ok(StreamHeader::Claim { id: r.array()? }),
        KIND_STREAM_GONE => return Ok(StreamHeader::Gone { id: r.array()? }),
        _ => {}
    }
    let handle = r.u32()?;
    Ok(match kind {
        KIND_STREAM_OPEN => {
            let id = r.array()?;
            let offset = r.u64()?;
            let size = Some(r.u64()?).filter(|&s| s != UNKNOWN_SIZE);
            let kind = PayloadKind::from_byte(r.u8()?)?;
            let name_len = usize::from(r.u8()?);
            let action = r.text(name_len)?;
            let metadata = match r.u32()? {
                NO_METADATA => None,
                len if len as usize > MAX_METADATA_LEN => return Err(FrameError::MetadataTooLong),
                len => Some(r.text(len as usize)?),
            };
            StreamHeader::Open(StreamOpen { handle, id, offset, size, kind, action, metadata })
        }
        KIND_STREAM_DATA => StreamHeader::Data { handle, offset: r.u64()? },
        KIND_STREAM_END => StreamHeader::End { handle, size: r.u64()?, digest: r.array()? },
        KIND_STREAM_ABORT => StreamHeader::Abort(handle),
        KIND_STREAM_CREDIT => StreamHeader::Credit { handle, until: r.u64()? },
        KIND_STREAM_RESUME => StreamHeader::Resume { handle, offset: r.u64()? },
        _ => StreamHeader::Closed {
            handle,
            reason: match r.u8()? {
                0 => CloseReason::Verified,
                1 => CloseReason::Integrity,
                2 => CloseReason::Cancelled,
                4 => CloseReason::Left,
                _ => CloseReason::Refused,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{decode_header, split, Header};

    fn decoded(frame: &[u8]) -> StreamHeader {
        let (header, _) = split(frame).unwrap();
        match decode_header(header).unwrap() {
            Header::Stream(stream) => stream,
            other => panic!("not a stream frame: {other:?}"),
        }
    }

    #[test]
    fn every_stream_frame_round_trips() {
        let open = StreamOpen {
            handle: 3,
            id: [7; STREAM_ID_LEN],
            offset: 5 << 32,
            size: Some(10 << 32),
            kind: PayloadKind::Binary,
            action: "file".into(),
            metadata: Some("{\"name\":\"a.bin\"}".into()),
        };
        assert_eq!(decoded(&encode_open(&open).unwrap()), StreamHeader::Open(open.clone()));
        let size_unknown = StreamOpen { size: None, metadata: None, ..open };
        assert_eq!(decoded(&encode_open(&size_unknown).unwrap()), StreamHeader::Open(size_unknown));
        assert_eq!(decoded(&encode_data(3, 1 << 40)), StreamHeader::Data { handle: 3, offset: 1 << 40 });
        let digest = [9; DIGEST_LEN];
        assert_eq!(decoded(&encode_end(3, 77, &digest)), StreamHeader::End { handle: 3, size: 77, digest });
        assert_eq!(decoded(&encode_abort(3)), StreamHeader::Abort(3));
        assert_eq!(decoded(&encode_credit(3, 99)), StreamHeader::Credit { handle: 3, until: 99 });
        assert_eq!(decoded(&encode_resume(3, 1 << 33)), StreamHeader::Resume { handle: 3, offset: 1 << 33 });
        assert_eq!(decoded(&encode_claim(&[5; STREAM_ID_LEN])), StreamHeader::Claim { id: [5; STREAM_ID_LEN] });
        assert_eq!(decoded(&encode_gone(&[6; STREAM_ID_LEN])), StreamHeader::Gone { id: [6; STREAM_ID_LEN] });
        for reason in [
            CloseReason::Verified,
            CloseReason::Integrity,
            CloseReason::Cancelled,
            CloseReason::Refused,
            CloseReason::Left,
        ] {
            assert_eq!(decoded(&encode_closed(3, reason)), StreamHeader::Closed { handle: 3, reason });
        }
    }

    #[test]
    fn truncated_stream_frames_are_errors() {
        let frame = encode_end(1, 2, &[0; DIGEST_LEN]);
        let (header, _) = split(&frame).unwrap();
        assert_eq!(decode_header(&header[..header.len() - 1]), Err(FrameError::Truncated));
    }
}
