//! Receive-side bookkeeping of chunked transfers from one peer.
//!
//! Generic over the part type `P` so the same rules run natively on `Vec<u8>` in tests and on
//! JS `Uint8Array` views in the browser, where payload bytes never enter Wasm memory.

use crate::collections::Map;
use crate::frame::{DataHeader, TransferStart};
use crate::time::Instant;
use std::fmt;
use std::time::Duration;

/// Limits on what peers may make us hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single payload accepted, in bytes.
    pub max_message: u64,
    /// Largest number of bytes held at once across one peer's unfinished transfers.
    pub max_in_flight: u64,
    /// Largest number of bytes held at once across every peer's unfinished transfers.
    pub max_in_flight_total: u64,
}

/// Bytes charged for holding one part, on top of its length: a part is a view object with its
/// bookkeeping, so a peer sending tiny chunks is held to the limits by what it really costs.
pub const PART_COST: u64 = 64;

/// Most unfinished transfers one peer may have open at once.
pub const MAX_OPEN_TRANSFERS: usize = 64;

/// Default largest payload: 512 MiB.
pub const DEFAULT_MAX_MESSAGE: u64 = 512 * 1024 * 1024;
/// Default per-peer in-flight bound: 512 MiB.
pub const DEFAULT_MAX_IN_FLIGHT: u64 = 512 * 1024 * 1024;
/// Default room-wide in-flight bound: 1 GiB.
pub const DEFAULT_MAX_IN_FLIGHT_TOTAL: u64 = 1024 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message: DEFAULT_MAX_MESSAGE,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_in_flight_total: DEFAULT_MAX_IN_FLIGHT_TOTAL,
        }
    }
}

/// Why a chunk was refused. The transfer it belonged to, if any, is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReassemblyError {
    TooLarge { claimed: u64, max: u64 },
    TooManyTransfers { max: usize },
    EmptyChunk { transfer: u32 },
    InFlightLimit { max: u64 },
    RoomInFlightLimit { max: u64 },
    UnknownTransfer(u32),
    OutOfOrder { transfer: u32, expected: u32, got: u32 },
    Overflow { transfer: u32 },
}

impl fmt::Display for ReassemblyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { claimed, max } => {
                write!(f, "payload of {claimed} bytes exceeds the {max}-byte limit")
            }
            Self::InFlightLimit { max } => write!(f, "peer exceeded the {max}-byte in-flight limit"),
            Self::RoomInFlightLimit { max } => write!(f, "the room's {max}-byte in-flight limit is reached"),
            Self::TooManyTransfers { max } => write!(f, "peer has more than {max} unfinished transfers"),
            Self::EmptyChunk { transfer } => write!(f, "transfer {transfer} sent an empty chunk"),
            Self::UnknownTransfer(t) => write!(f, "chunk for unknown transfer {t}"),
            Self::OutOfOrder { transfer, expected, got } => {
                write!(f, "transfer {transfer}: expected chunk {expected}, got {got}")
            }
            Self::Overflow { transfer } => {
                write!(f, "transfer {transfer} sent more bytes than announced")
            }
        }
    }
}

impl std::error::Error for ReassemblyError {}

/// What an accepted chunk did.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted<P> {
    /// More chunks are due.
    Partial { transfer: u32, received: u64, total: u64 },
    /// The payload is whole: its parts, in order.
    Complete { start: TransferStart, parts: Vec<P> },
}

struct Transfer<P> {
    start: TransferStart,
    received: u64,
    /// What it counts against the in-flight limits: its bytes plus [`PART_COST`] per part.
    charged: u64,
    next_seq: u32,
    parts: Vec<P>,
    /// When its last chunk arrived.
    active: Instant,
}

/// Reassembles the transfers arriving from one peer.
pub struct Reassembler<P> {
    limits: Limits,
    transfers: Map<u32, Transfer<P>>,
    in_flight: u64,
}

impl<P> Reassembler<P> {
    pub fn new(limits: Limits) -> Self {
        Self { limits, transfers: Map::default(), in_flight: 0 }
    }

    /// When the least recently active unfinished transfer last received a chunk.
    pub fn oldest_activity(&self) -> Option<Instant> {
        self.transfers.values().map(|t| t.active).min()
    }

    /// Drops the unfinished transfers that received nothing for `idle` up to `now`; returns their ids.
    pub fn expire(&mut self, now: Instant, idle: Duration) -> Vec<u32> {
        let stale: Vec<u32> =
            self.transfers.iter().filter(|(_, t)| now - t.active >= idle).map(|(&id, _)| id).collect();
        for &id in &stale {
            self.drop_transfer(id);
        }
        stale
    }

    /// Drops transfer `id` (its sender gave up); returns whether it was unfinished.
    pub fn abort(&mut self, id: u32) -> bool {
        self.drop_transfer(id)
    }

    /// The start of an unfinished transfer.
    pub fn start(&self, transfer: u32) -> Option<&TransferStart> {
        self.transfers.get(&transfer).map(|t| &t.start)
    }

    /// What unfinished transfers hold: their bytes, plus [`PART_COST`] per part.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// Takes one chunk of `len` payload bytes arriving at `now`; `room_in_flight` is what every
    /// peer's unfinished transfers hold now, this one's included.
    pub fn accept(
        &mut self,
        header: DataHeader,
        part: P,
        len: u64,
        room_in_flight: u64,
        now: Instant,
    ) -> Result<Accepted<P>, ReassemblyError> {
        let id = header.transfer;
        let first = header.start.is_some();
        if let Some(start) = header.start {
            self.drop_transfer(id);
            if start.total > self.limits.max_message {
                return Err(ReassemblyError::TooLarge { claimed: start.total, max: self.limits.max_message });
            }
            if self.transfers.len() >= MAX_OPEN_TRANSFERS {
                return Err(ReassemblyError::TooManyTransfers { max: MAX_OPEN_TRANSFERS });
            }
            let transfer = Transfer { start, received: 0, charged: 0, next_seq: 0, parts: Vec::new(), active: now };
            self.transfers.insert(id, transfer);
        }
        let Some(transfer) = self.transfers.get_mut(&id) else {
            return Err(ReassemblyError::UnknownTransfer(id));
        };
        if !first && len == 0 {
            // Only a transfer's first chunk may be empty (an empty payload); empty later chunks
            // would pile up parts without bytes.
            self.drop_transfer(id);
            return Err(ReassemblyError::EmptyChunk { transfer: id });
        }
        if header.seq != transfer.next_seq {
            let expected = transfer.next_seq;
            self.drop_transfer(id);
            return Err(ReassemblyError::OutOfOrder { transfer: id, expected, got: header.seq });
        }
        if transfer.received + len > transfer.start.total {
            self.drop_transfer(id);
            return Err(ReassemblyError::Overflow { transfer: id });
        }
        let cost = len + PART_COST;
        if self.in_flight + cost > self.limits.max_in_flight {
            self.drop_transfer(id);
            return Err(ReassemblyError::InFlightLimit { max: self.limits.max_in_flight });
        }
        if room_in_flight + cost > self.limits.max_in_flight_total {
            self.drop_transfer(id);
            return Err(ReassemblyError::RoomInFlightLimit { max: self.limits.max_in_flight_total });
        }
        transfer.received += len;
        transfer.charged += cost;
        transfer.next_seq = transfer.next_seq.wrapping_add(1);
        transfer.parts.push(part);
        transfer.active = now;
        self.in_flight += cost;
        if transfer.received < transfer.start.total {
            return Ok(Accepted::Partial { transfer: id, received: transfer.received, total: transfer.start.total });
        }
        match self.transfers.remove(&id) {
            Some(done) => {
                self.in_flight -= done.charged;
                Ok(Accepted::Complete { start: done.start, parts: done.parts })
            }
            None => Err(ReassemblyError::UnknownTransfer(id)),
        }
    }

    fn drop_transfer(&mut self, id: u32) -> bool {
        let Some(t) = self.transfers.remove(&id) else { return false };
        self.in_flight -= t.charged;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunking::chunk_ranges;
    use crate::frame::PayloadKind;
    use proptest::prelude::*;

    fn start(total: u64) -> Option<TransferStart> {
        Some(TransferStart {
            action: "a".into(),
            total,
            kind: PayloadKind::Binary,
            metadata: None,
            purpose: Default::default(),
        })
    }

    fn chunk(transfer: u32, seq: u32, total: u64) -> DataHeader {
        DataHeader { transfer, seq, start: if seq == 0 { start(total) } else { None } }
    }

    fn feed(
        r: &mut Reassembler<Vec<u8>>,
        transfer: u32,
        seq: u32,
        total: u64,
        bytes: &[u8],
    ) -> Result<Accepted<Vec<u8>>, ReassemblyError> {
        let room = r.in_flight();
        r.accept(chunk(transfer, seq, total), bytes.to_vec(), bytes.len() as u64, room, Instant::ZERO)
    }

    #[test]
    fn claims_over_the_limit_are_refused_before_any_byte() {
        let mut r = Reassembler::<Vec<u8>>::new(Limits::default());
        let claimed = 100 * 1024 * 1024 * 1024;
        assert_eq!(
            feed(&mut r, 1, 0, claimed, b"x"),
            Err(ReassemblyError::TooLarge { claimed, max: DEFAULT_MAX_MESSAGE })
        );
        assert_eq!(r.in_flight(), 0);
    }

    #[test]
    fn unknown_out_of_order_and_overflowing_chunks_drop_only_their_transfer() {
        let mut r = Reassembler::new(Limits::default());
        assert_eq!(feed(&mut r, 9, 1, 0, b"x"), Err(ReassemblyError::UnknownTransfer(9)));
        assert!(matches!(feed(&mut r, 1, 0, 10, b"abc"), Ok(Accepted::Partial { received: 3, .. })));
        assert!(matches!(feed(&mut r, 2, 0, 4, b"ab"), Ok(Accepted::Partial { .. })));
        assert_eq!(feed(&mut r, 1, 5, 0, b"x"), Err(ReassemblyError::OutOfOrder { transfer: 1, expected: 1, got: 5 }));
        assert_eq!(r.in_flight(), 2 + PART_COST);
        assert_eq!(feed(&mut r, 2, 1, 0, b"abc"), Err(ReassemblyError::Overflow { transfer: 2 }));
        assert_eq!(r.in_flight(), 0);
        assert!(matches!(feed(&mut r, 3, 0, 1, b"z"), Ok(Accepted::Complete { .. })));
    }

    #[test]
    fn in_flight_bytes_are_bounded() {
        let peer = 4 + 2 * PART_COST;
        let mut r = Reassembler::new(Limits { max_message: 100, max_in_flight: peer, max_in_flight_total: 1 << 20 });
        assert!(feed(&mut r, 1, 0, 100, b"abc").is_ok());
        assert!(feed(&mut r, 2, 0, 100, b"a").is_ok());
        assert_eq!(feed(&mut r, 3, 0, 100, b"a"), Err(ReassemblyError::InFlightLimit { max: peer }));
        assert_eq!(r.in_flight(), peer);
        let room = 5 + PART_COST;
        let mut r = Reassembler::new(Limits { max_message: 100, max_in_flight: 1 << 20, max_in_flight_total: room });
        let other_peers = 2;
        assert!(r.accept(chunk(1, 0, 100), b"abc".to_vec(), 3, other_peers, Instant::ZERO).is_ok());
        assert_eq!(
            r.accept(chunk(2, 0, 100), b"x".to_vec(), 1, r.in_flight() + other_peers, Instant::ZERO),
            Err(ReassemblyError::RoomInFlightLimit { max: room })
        );
        assert_eq!(r.in_flight(), 3 + PART_COST);
    }

    #[test]
    fn tiny_chunks_are_charged_what_holding_them_costs() {
        let mut r =
            Reassembler::new(Limits { max_message: 1 << 20, max_in_flight: 10 * 1024, max_in_flight_total: 1 << 30 });
        let accepted = (0..1000u32).take_while(|&seq| feed(&mut r, 1, seq, 1 << 20, b"x").is_ok()).count();
        assert_eq!(accepted as u64, 10 * 1024 / (1 + PART_COST));
    }

    #[test]
    fn open_transfers_and_empty_chunks_are_bounded() {
        let mut r = Reassembler::new(Limits::default());
        for id in 0..MAX_OPEN_TRANSFERS as u32 {
            assert!(feed(&mut r, id, 0, 10, b"a").is_ok());
        }
        assert_eq!(feed(&mut r, 999, 0, 10, b"a"), Err(ReassemblyError::TooManyTransfers { max: MAX_OPEN_TRANSFERS }));
        assert_eq!(feed(&mut r, 0, 1, 0, b""), Err(ReassemblyError::EmptyChunk { transfer: 0 }));
        assert_eq!(feed(&mut r, 0, 1, 0, b"b"), Err(ReassemblyError::UnknownTransfer(0)));
        assert!(matches!(feed(&mut r, 1, 1, 0, b"bcdefghij"), Ok(Accepted::Complete { .. })));
        assert!(matches!(feed(&mut r, 1000, 0, 0, b""), Ok(Accepted::Complete { .. })));
    }

    #[test]
    fn idle_and_aborted_transfers_are_dropped() {
        let mut r = Reassembler::new(Limits::default());
        let at = |s| Instant::ZERO + Duration::from_secs(s);
        assert!(r.accept(chunk(1, 0, 10), b"abc".to_vec(), 3, 0, at(0)).is_ok());
        assert!(r.accept(chunk(2, 0, 10), b"ab".to_vec(), 2, 3, at(5)).is_ok());
        assert!(r.accept(chunk(1, 1, 0), b"d".to_vec(), 1, 5, at(8)).is_ok());
        assert_eq!(r.oldest_activity(), Some(at(5)));
        assert_eq!(r.expire(at(30), Duration::from_secs(25)), vec![2]);
        assert_eq!(r.in_flight(), 4 + 2 * PART_COST);
        assert!(r.abort(1));
        assert!(!r.abort(1));
        assert_eq!((r.in_flight(), r.oldest_activity()), (0, None));
    }

    #[test]
    fn a_restarted_transfer_id_replaces_the_old_one() {
        let mut r = Reassembler::new(Limits::default());
        assert!(feed(&mut r, 1, 0, 10, b"abc").is_ok());
        assert!(matches!(feed(&mut r, 1, 0, 2, b"xy"), Ok(Accepted::Complete { .. })));
        assert_eq!(r.in_flight(), 0);
    }

    proptest! {
        #[test]
        fn interleaved_random_splits_reassemble_exactly(
            a in proptest::collection::vec(any::<u8>(), 0..3000),
            b in proptest::collection::vec(any::<u8>(), 0..3000),
            chunk_a in 1usize..700, chunk_b in 1usize..700,
        ) {
            let mut r = Reassembler::new(Limits::default());
            let ca: Vec<_> = chunk_ranges(a.len(), chunk_a).collect();
            let cb: Vec<_> = chunk_ranges(b.len(), chunk_b).collect();
            let mut done = Vec::new();
            for i in 0..ca.len().max(cb.len()) {
                for (id, payload, ranges) in [(1u32, &a, &ca), (2u32, &b, &cb)] {
                    if let Some(range) = ranges.get(i) {
                        let out = feed(&mut r, id, i as u32, payload.len() as u64, &payload[range.clone()]).unwrap();
                        if let Accepted::Complete { parts, .. } = out {
                            done.push((id, parts.concat()));
                        }
                    }
                }
            }
            done.sort();
            prop_assert_eq!(done, vec![(1, a.clone()), (2, b.clone())]);
            prop_assert_eq!(r.in_flight(), 0);
        }
    }
}
