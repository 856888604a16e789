//! The MQTT 3.1.1 packets this client speaks (QoS 0 only), with a streaming decoder.
//!
//! Over WebSocket a message may hold part of a packet or several packets (MQTT 3.1.1 §6), so
//! incoming bytes go through [`Decoder`], which buffers at most [`MAX_PACKET_LEN`] bytes.

use std::fmt;

/// Largest packet accepted from a broker.
pub const MAX_PACKET_LEN: usize = 256 * 1024;

const CONNECT: u8 = 1;
const CONNACK: u8 = 2;
const PUBLISH: u8 = 3;
const SUBSCRIBE: u8 = 8;
const SUBACK: u8 = 9;
const PINGREQ: u8 = 12;
const PINGRESP: u8 = 13;
const DISCONNECT: u8 = 14;

/// A packet received from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    ConnAck {
        code: u8,
    },
    Publish {
        topic: String,
        payload: Vec<u8>,
    },
    SubAck {
        packet_id: u16,
        codes: Vec<u8>,
    },
    PingResp,
    /// A packet type a QoS 0 subscriber does not expect; ignored.
    Other(u8),
}

/// Why the broker's byte stream cannot be read further.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MqttError {
    /// The remaining-length field runs past four bytes.
    BadLength,
    TooLarge(usize),
    Truncated(u8),
    NotUtf8,
}

impl fmt::Display for MqttError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength => f.write_str("MQTT remaining length is malformed"),
            Self::TooLarge(n) => write!(f, "MQTT packet of {n} bytes is too large"),
            Self::Truncated(t) => write!(f, "MQTT packet of type {t} is truncated"),
            Self::NotUtf8 => f.write_str("MQTT topic is not UTF-8"),
        }
    }
}

impl std::error::Error for MqttError {}

/// CONNECT with a clean session and no credentials.
pub fn connect(client_id: &str, keep_alive_secs: u16) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, "MQTT");
    body.push(4); // protocol level 3.1.1
    body.push(0b0000_0010); // clean session
    body.extend_from_slice(&keep_alive_secs.to_be_bytes());
    put_str(&mut body, client_id);
    packet(CONNECT << 4, &body)
}

/// SUBSCRIBE to `topics` at QoS 0.
pub fn subscribe(packet_id: u16, topics: &[&str]) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    for topic in topics {
        put_str(&mut body, topic);
        body.push(0);
    }
    packet(SUBSCRIBE << 4 | 0b0010, &body)
}

/// PUBLISH at QoS 0, not retained.
pub fn publish(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(topic.len() + 2 + payload.len());
    put_str(&mut body, topic);
    body.extend_from_slice(payload);
    packet(PUBLISH << 4, &body)
}

/// PINGREQ.
pub fn pingreq() -> Vec<u8> {
    packet(PINGREQ << 4, &[])
}

/// DISCONNECT.
pub fn disconnect() -> Vec<u8> {
    packet(DISCONNECT << 4, &[])
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).expect("MQTT strings this client sends are short");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// Splits the broker's byte stream into packets.
#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Appends `bytes` and returns every packet now complete. After an error the stream is
    /// unreadable and the decoder is empty; the caller should drop the connection.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Packet>, MqttError> {
        self.buf.extend_from_slice(bytes);
        let mut packets = Vec::new();
        let mut start = 0;
        let result = loop {
            match frame(&self.buf[start..]) {
                Ok(Some((header, body, used))) => {
                    match parse(header, body) {
                        Ok(p) => packets.push(p),
                        Err(e) => break Err(e),
                    }
                    start += used;
                }
                Ok(None) => break Ok(packets),
                Err(e) => break Err(e),
            }
        };
        match result {
            Ok(packets) => {
                self.buf.drain(..start);
                Ok(packets)
            }
            Err(e) => {
                self.buf = Vec::new();
                Err(e)
            }
        }
    }
}

/// A whole packet at the start of a buffer: its first byte, its body and its total length.
type Frame<'a> = (u8, &'a [u8], usize);

/// The whole packet at the start of `bytes`, if it has arrived.
fn frame(bytes: &[u8]) -> Result<Option<Frame<'_>>, MqttError> {
    let Some(&first) = bytes.first() else { return Ok(None) };
    let mut len = 0usize;
    let mut i = 1;
    loop {
        let Some(&byte) = bytes.get(i) else {
            return if i > 4 { Err(MqttError::BadLength) } else { Ok(None) };
        };
        if i > 4 {
            return Err(MqttError::BadLength);
        }
        len |= usize::from(byte & 0x7f) << (7 * (i - 1));
        i += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }
    if len + i > MAX_PACKET_LEN {
        return Err(MqttError::TooLarge(len + i));
    }
    Ok(bytes.get(i..i + len).map(|body| (first, body, i + len)))
}

fn parse(first: u8, body: &[u8]) -> Result<Packet, MqttError> {
    let kind = first >> 4;
    let truncated = MqttError::Truncated(kind);
    match kind {
        CONNACK => Ok(Packet::ConnAck { code: *body.get(1).ok_or(truncated)? }),
        PUBLISH => {
            let topic_len =
                usize::from(u16::from_be_bytes(body.get(..2).ok_or(truncated.clone())?.try_into().expect("2 bytes")));
            let topic = body.get(2..2 + topic_len).ok_or(truncated.clone())?;
            let topic = String::from_utf8(topic.to_vec()).map_err(|_| MqttError::NotUtf8)?;
            let qos = (first >> 1) & 0b11;
            let payload_start = 2 + topic_len + if qos > 0 { 2 } else { 0 };
            let payload = body.get(payload_start..).ok_or(truncated)?.to_vec();
            Ok(Packet::Publish { topic, payload })
        }
        SUBACK => {
            let id = body.get(..2).ok_or(truncated)?;
            Ok(Packet::SubAck { packet_id: u16::from_be_bytes([id[0], id[1]]), codes: body[2..].to_vec() })
        }
        PINGRESP => Ok(Packet::PingResp),
        other => Ok(Packet::Other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn outgoing_packets_match_the_spec() {
        // MQTT 3.1.1 §3.1: CONNECT, remaining length 16, "MQTT", level 4, clean session, keep-alive 60.
        assert_eq!(connect("ab", 60), [0x10, 14, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 2, b'a', b'b']);
        assert_eq!(subscribe(1, &["t"]), [0x82, 6, 0, 1, 0, 1, b't', 0]);
        assert_eq!(publish("t", b"hi"), [0x30, 5, 0, 1, b't', b'h', b'i']);
        assert_eq!(pingreq(), [0xc0, 0]);
        assert_eq!(disconnect(), [0xe0, 0]);
    }

    #[test]
    fn long_remaining_lengths_use_several_bytes() {
        let p = publish("t", &[7; 200]);
        assert_eq!(&p[..3], &[0x30, 0xcb, 0x01]); // 203 = 0x4b + 1 * 128
        assert_eq!(Decoder::default().push(&p), Ok(vec![Packet::Publish { topic: "t".into(), payload: vec![7; 200] }]));
    }

    #[test]
    fn packets_split_and_joined_across_messages_decode() {
        let mut stream = vec![0x20, 2, 0, 0, 0x90, 3, 0, 1, 0, 0xd0, 0];
        stream.extend(publish("room/x", b"{}"));
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for piece in stream.chunks(3) {
            got.extend(d.push(piece).unwrap());
        }
        assert_eq!(
            got,
            [
                Packet::ConnAck { code: 0 },
                Packet::SubAck { packet_id: 1, codes: vec![0] },
                Packet::PingResp,
                Packet::Publish { topic: "room/x".into(), payload: b"{}".to_vec() }
            ]
        );
    }

    #[test]
    fn qos1_publish_skips_its_packet_id() {
        let p = [0x32, 7, 0, 1, b't', 0, 9, b'h', b'i'];
        assert_eq!(
            Decoder::default().push(&p),
            Ok(vec![Packet::Publish { topic: "t".into(), payload: b"hi".to_vec() }])
        );
    }

    #[test]
    fn malformed_streams_are_errors() {
        assert_eq!(Decoder::default().push(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), Err(MqttError::BadLength));
        assert_eq!(Decoder::default().push(&[0x30, 0xff, 0xff, 0xff, 0x7f]), Err(MqttError::TooLarge(268_435_460)));
        assert_eq!(Decoder::default().push(&[0x30, 1, 0]), Err(MqttError::Truncated(3)));
        assert_eq!(Decoder::default().push(&[0x20, 0]), Err(MqttError::Truncated(2)));
        assert_eq!(Decoder::default().push(&[0x30, 4, 0, 2, 0xff, 0xfe]), Err(MqttError::NotUtf8));
        assert_eq!(Decoder::default().push(&[0x50, 0]), Ok(vec![Packet::Other(5)]));
        let mut d = Decoder::default();
        assert!(d.push(&[0x30, 1, 0]).is_err());
        assert_eq!(d.push(&pingreq_resp()), Ok(vec![Packet::PingResp]), "decoder recovers empty");
    }

    fn pingreq_resp() -> Vec<u8> {
        vec![0xd0, 0]
    }

    proptest! {
        #[test]
        fn arbitrary_streams_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..20)) {
            let mut d = Decoder::default();
            for c in chunks {
                let _ = d.push(&c);
            }
        }

        #[test]
        fn publishes_roundtrip(topic in "[a-z/]{0,50}", payload in proptest::collection::vec(any::<u8>(), 0..3000), split in 1usize..500) {
            let bytes = publish(&topic, &payload);
            let mut d = Decoder::default();
            let mut got = Vec::new();
            for piece in bytes.chunks(split) {
                got.extend(d.push(piece).unwrap());
            }
            prop_assert_eq!(got, vec![Packet::Publish { topic, payload }]);
        }
    }
}
