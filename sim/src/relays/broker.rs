//! An MQTT 3.1.1 broker over WebSocket: CONNECT, SUBSCRIBE, PUBLISH at QoS 0 to exact-topic
//! subscribers (the publisher included), PINGREQ, DISCONNECT. It can be told to refuse
//! connections, as brokers that are full or require credentials do.

use super::{ClientId, RelayServer, ServerAction};
use rendez_core::strategy::RelayData;
use rendez_mqtt::packet;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub struct SimBroker {
    buffers: BTreeMap<ClientId, Vec<u8>>,
    subscriptions: BTreeMap<ClientId, BTreeSet<String>>,
    /// CONNACK return code for every CONNECT (0 accepts).
    pub connack_code: u8,
}

/// Splits whole packets (first byte, body) off the front of `buf`.
fn packets(buf: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        let (mut len, mut shift, mut at) = (0usize, 0, 1);
        let complete = loop {
            let Some(&byte) = buf.get(at) else { break false };
            len |= usize::from(byte & 0x7f) << shift;
            at += 1;
            shift += 7;
            if byte & 0x80 == 0 {
                break true;
            }
        };
        if !complete || buf.len() < at + len {
            return out;
        }
        let body = buf[at..at + len].to_vec();
        out.push((buf[0], body));
        buf.drain(..at + len);
    }
}

fn str_at(body: &[u8], at: usize) -> Option<(String, usize)> {
    let len = usize::from(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
    let text = String::from_utf8(body.get(at + 2..at + 2 + len)?.to_vec()).ok()?;
    Some((text, at + 2 + len))
}

impl RelayServer for SimBroker {
    fn receive(&mut self, client: ClientId, data: RelayData, out: &mut Vec<ServerAction>) {
        let RelayData::Binary(bytes) = data else { return out.push(ServerAction::Close(client)) };
        let buf = self.buffers.entry(client).or_default();
        buf.extend_from_slice(&bytes);
        for (first, body) in packets(buf) {
            match first >> 4 {
                1 => out.push(ServerAction::Send(client, RelayData::Binary(vec![0x20, 2, 0, self.connack_code]))),
                8 => {
                    let mut at = 2;
                    let mut granted = Vec::new();
                    while let Some((topic, next)) = str_at(&body, at) {
                        self.subscriptions.entry(client).or_default().insert(topic);
                        granted.push(0);
                        at = next + 1;
                    }
                    let mut suback = vec![0x90, 2 + granted.len() as u8, body[0], body[1]];
                    suback.extend(granted);
                    out.push(ServerAction::Send(client, RelayData::Binary(suback)));
                }
                3 => {
                    let Some((topic, at)) = str_at(&body, 0) else { continue };
                    let publish = packet::publish(&topic, &body[at..]);
                    for (&subscriber, topics) in &self.subscriptions {
                        if topics.contains(&topic) {
                            out.push(ServerAction::Send(subscriber, RelayData::Binary(publish.clone())));
                        }
                    }
                }
                12 => out.push(ServerAction::Send(client, RelayData::Binary(vec![0xd0, 0]))),
                14 => out.push(ServerAction::Close(client)),
                _ => {}
            }
        }
    }

    fn disconnect(&mut self, client: ClientId) {
        self.buffers.remove(&client);
        self.subscriptions.remove(&client);
    }
}
