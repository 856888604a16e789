//! A NIP-01 Nostr relay: REQ with kind and `#x` tag filters, EOSE, EVENT verified (id and
//! signature) then acknowledged with OK and forwarded to matching subscriptions, CLOSE. It can be
//! told to refuse events (`OK false`, as rate-limiting public relays do) or to close
//! subscriptions (`CLOSED`).

use super::{ClientId, RelayServer, ServerAction};
use rendez_core::strategy::RelayData;
use rendez_nostr::event::Event;
use serde_json::{json, Value};
use std::collections::BTreeMap;

struct Subscription {
    kinds: Vec<u64>,
    tags: Vec<String>,
}

#[derive(Default)]
pub struct SimNostrRelay {
    subscriptions: BTreeMap<(ClientId, String), Subscription>,
    /// Answer every event with `OK false` and forward nothing.
    pub refuse_events: bool,
    /// Answer every REQ with `CLOSED`.
    pub close_subscriptions: bool,
}

fn text(value: Value) -> RelayData {
    RelayData::Text(value.to_string())
}

impl RelayServer for SimNostrRelay {
    fn receive(&mut self, client: ClientId, data: RelayData, out: &mut Vec<ServerAction>) {
        let RelayData::Text(message) = data else { return out.push(ServerAction::Close(client)) };
        let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&message) else { return };
        match items.first().and_then(Value::as_str) {
            Some("REQ") => {
                let (Some(sub), Some(filter)) = (items.get(1).and_then(Value::as_str), items.get(2)) else { return };
                if self.close_subscriptions {
                    return out
                        .push(ServerAction::Send(client, text(json!(["CLOSED", sub, "rate-limited: slow down"]))));
                }
                let list = |key: &str| filter[key].as_array().cloned().unwrap_or_default();
                let kinds = list("kinds").iter().filter_map(Value::as_u64).collect();
                let tags = list("#x").iter().filter_map(|t| t.as_str().map(str::to_owned)).collect();
                self.subscriptions.insert((client, sub.to_owned()), Subscription { kinds, tags });
                out.push(ServerAction::Send(client, text(json!(["EOSE", sub]))));
            }
            Some("EVENT") => {
                let Some(event) = items.get(1).and_then(|e| serde_json::from_value::<Event>(e.clone()).ok()) else {
                    return;
                };
                if event.verify().is_err() {
                    return out.push(ServerAction::Send(
                        client,
                        text(json!(["OK", event.id, false, "invalid: bad signature"])),
                    ));
                }
                if self.refuse_events {
                    return out.push(ServerAction::Send(
                        client,
                        text(json!(["OK", event.id, false, "rate-limited: slow down"])),
                    ));
                }
                out.push(ServerAction::Send(client, text(json!(["OK", event.id, true, ""]))));
                let tag = event.tag("x").unwrap_or_default().to_owned();
                for ((subscriber, sub), filter) in &self.subscriptions {
                    if filter.kinds.contains(&u64::from(event.kind)) && filter.tags.contains(&tag) {
                        out.push(ServerAction::Send(*subscriber, text(json!(["EVENT", sub, event]))));
                    }
                }
            }
            Some("CLOSE") => {
                if let Some(sub) = items.get(1).and_then(Value::as_str) {
                    self.subscriptions.remove(&(client, sub.to_owned()));
                }
            }
            _ => {}
        }
    }

    fn disconnect(&mut self, client: ClientId) {
        self.subscriptions.retain(|(c, _), _| *c != client);
    }
}
