//! Frames from peers: decoding, reassembly of payloads with acks and rejects, handing whole
//! payloads on by their purpose, and the control frames (pings, verdicts, aborts, ready,
//! renegotiation, media metadata, peer lists and relayed signaling).
//!
//! Rules: a frame that cannot be decoded, a chunk that breaks its transfer's rules and a text
//! message are dropped with a warning, within the peer's warning budget; until a peer joins, only
//! handshake data (at most [`MAX_HANDSHAKE_DATA`] bytes) is taken and media frames wait; a refused chunk is
//! answered with a reject, within the peer's reject budget; an unfinished transfer that receives
//! nothing for [`TRANSFER_IDLE_TIMEOUT`] is dropped; control texts over [`MAX_CONTROL_TEXT`] are
//! dropped unread.

use super::admission::MAX_HANDSHAKE_DATA;
use super::rate_limit::Verdict;
use super::requests::Delivery;
use super::{ConnId, Event, OutFrame, Output, Room, TRANSFER_IDLE_TIMEOUT};
use crate::frame::{encode_ack, encode_pong, encode_reject, read_header, DataHeader, Header, Purpose, TransferStart};
use crate::payload::Payload;
use crate::reassembly::Accepted;
use crate::stream_frame::StreamHeader;

/// Longest renegotiation or media-metadata text read from a peer, in bytes.
pub const MAX_CONTROL_TEXT: u64 = 64 * 1024;

impl<P: Payload> Room<P> {
    pub(super) fn on_frame(&mut self, conn: ConnId, frame: P) {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if !c.is_open() {
            return self.on_unopened_link_frame(conn, &frame);
        }
        c.last_heard = now;
        let (header, offset) = match read_header(&frame) {
            Ok(read) => read,
            Err(e) => return self.warn_about(conn, format!("dropped a malformed frame: {e}")),
        };
        match header {
            Header::Data(data) => self.on_data(conn, data, frame.slice(offset..frame.len())),
            Header::Ping(nonce) => self.send_control(conn, encode_pong(nonce)),
            Header::Pong(nonce) => self.on_pong(conn, nonce),
            Header::Ack(transfer) => self.on_verdict(conn, transfer, true),
            Header::Reject(transfer) => self.on_verdict(conn, transfer, false),
            Header::Abort(transfer) => {
                c.inbox.abort(transfer);
            }
            Header::Ready => self.on_ready(conn),
            Header::LinkProof => {}
            // Media and introductions wait for admission.
            Header::Renegotiation | Header::Media | Header::Peers | Header::Relayed if !c.is_joined() => {}
            Header::Renegotiation | Header::Media | Header::Peers | Header::Relayed => {
                let Some(text) = self.read_text(conn, &frame, offset) else { return };
                match header {
                    Header::Renegotiation => self.on_remote_description(conn, &text),
                    Header::Media => self.on_stream_metadata(conn, &text),
                    Header::Peers => self.on_peer_list(conn, &text),
                    _ => self.on_relayed(conn, &text),
                }
            }
            Header::Stream(_) if !c.is_joined() => {}
            Header::Stream(stream) => match stream {
                StreamHeader::Open(open) => self.on_stream_open(conn, open),
                StreamHeader::Data { handle, offset: at } => {
                    self.on_stream_data(conn, handle, at, frame.slice(offset..frame.len()))
                }
                StreamHeader::End { handle, size, digest } => self.on_stream_end(conn, handle, size, digest),
                StreamHeader::Abort(handle) => self.on_stream_abort(conn, handle),
                StreamHeader::Credit { handle, until } => self.on_stream_credit(conn, handle, until),
                StreamHeader::Closed { handle, reason } => self.on_stream_closed(conn, handle, reason),
                StreamHeader::Resume { handle, offset } => self.on_stream_resume(conn, handle, offset),
                StreamHeader::Claim { id } => self.on_stream_claim(conn, id),
                StreamHeader::Gone { id } => self.on_stream_gone(conn, id),
            },
            Header::Unknown(_) => {}
        }
    }

    /// The UTF-8 text a control frame carries after `offset`, if it is short enough and valid.
    pub(super) fn read_text(&mut self, conn: ConnId, frame: &P, offset: u64) -> Option<String> {
        let len = frame.len() - offset;
        if len > MAX_CONTROL_TEXT {
            self.warn_about(conn, format!("dropped a control frame of {len} bytes"));
            return None;
        }
        let text = String::from_utf8(frame.slice(offset..frame.len()).to_vec());
        if text.is_err() {
            self.warn_about(conn, "dropped a control frame that is not UTF-8".to_owned());
        }
        text.ok()
    }

    fn on_data(&mut self, conn: ConnId, data: DataHeader, body: P) {
        let now = self.now;
        let transfer = data.transfer;
        let room_in_flight = self.conns.values().map(|c| c.inbox.in_flight()).sum();
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let peer = c.remote.clone().unwrap_or_default();
        if let Some(refusal) = data.start.as_ref().and_then(|start| refusal(start, c.is_joined())) {
            self.reject(conn, transfer);
            return self.warn_about(conn, format!("dropped data from peer {peer}: {refusal}"));
        }
        let len = body.len();
        match c.inbox.accept(data, body, len, room_in_flight, now) {
            Err(e) => {
                self.reject(conn, transfer);
                self.warn_about(conn, format!("dropped data from peer {peer}: {e}"));
            }
            Ok(Accepted::Partial { transfer, received, total }) => {
                let Some(start) = c.inbox.start(transfer) else { return };
                let shown = c.is_joined() && matches!(start.purpose, Purpose::Message | Purpose::Request(_));
                let (action, metadata) = (start.action.clone(), start.metadata.clone());
                self.note_deadline(now + TRANSFER_IDLE_TIMEOUT);
                if shown {
                    self.emit(Event::ReceiveProgress { peer, action, metadata, received, total });
                }
            }
            Ok(Accepted::Complete { start, parts }) => {
                let joined = c.is_joined();
                self.on_complete(conn, peer, transfer, joined, start, parts);
            }
        }
    }

    /// A whole transfer arrived: acked and handed on by its purpose.
    fn on_complete(
        &mut self,
        conn: ConnId,
        peer: String,
        transfer: u32,
        joined: bool,
        start: TransferStart,
        parts: Vec<P>,
    ) {
        self.send_control(conn, encode_ack(transfer));
        let TransferStart { action, total, kind, metadata, purpose } = start;
        let delivery = Delivery { kind, metadata, parts, total };
        match purpose {
            Purpose::Handshake if !joined => self.emit(Event::HandshakeData { peer, conn, delivery }),
            Purpose::Handshake => {}
            Purpose::Message => {
                let Delivery { kind, metadata, parts, total } = delivery;
                self.emit(Event::Received { peer, action, kind, metadata, parts, total });
            }
            Purpose::Request(wire) => self.on_request(conn, peer, action, wire, delivery),
            Purpose::Reply(wire) => self.on_reply(conn, wire, Ok(delivery)),
            Purpose::Refusal(wire) => {
                let message = delivery.metadata.as_deref().and_then(|m| serde_json::from_str::<String>(m).ok());
                self.on_reply(conn, wire, Err(message.unwrap_or_else(|| "request refused".to_owned())));
            }
        }
    }

    /// Tells the peer we dropped its `transfer`, unless it made us send too many rejects lately.
    fn reject(&mut self, conn: ConnId, transfer: u32) {
        let now = self.now;
        if self.conns.get_mut(&conn).is_some_and(|c| c.rejects.take(now) != Verdict::Denied) {
            self.send_control(conn, encode_reject(transfer));
        }
    }

    /// Sends a whole control frame on `conn`.
    pub(super) fn send_control(&mut self, conn: ConnId, frame: Vec<u8>) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.last_sent = self.now;
        }
        self.outputs.push_back(Output::SendFrame { conn, frame: OutFrame { header: frame, body: None } });
    }

    /// Drops unfinished incoming transfers that stalled, telling their senders.
    pub(super) fn stalled_transfers(&mut self) {
        let now = self.now;
        let mut stalled = Vec::new();
        for (&conn, c) in self.conns.iter_mut() {
            let peer = c.remote.clone().unwrap_or_default();
            stalled.extend(c.inbox.expire(now, TRANSFER_IDLE_TIMEOUT).into_iter().map(|t| (conn, t, peer.clone())));
        }
        let idle = TRANSFER_IDLE_TIMEOUT.as_secs();
        for (conn, transfer, peer) in stalled {
            self.reject(conn, transfer);
            self.warn_about(
                conn,
                format!("dropped transfer {transfer} from peer {peer}: nothing arrived for {idle} s"),
            );
        }
    }
}

/// Why a transfer starting with `start` is refused at once: data other than handshake data from
/// a peer that has not joined, or handshake data over [`MAX_HANDSHAKE_DATA`].
fn refusal(start: &TransferStart, joined: bool) -> Option<String> {
    match start.purpose {
        Purpose::Handshake if start.total > MAX_HANDSHAKE_DATA => {
            Some(format!("handshake data of {} bytes is over {MAX_HANDSHAKE_DATA}", start.total))
        }
        Purpose::Handshake => None,
        _ if !joined => Some("it has not joined yet".to_owned()),
        _ => None,
    }
}
