//! A WebTorrent tracker with `bittorrent-tracker`'s semantics: swarms by info hash, each offer of
//! an announce relayed to a different random peer of the swarm, answers relayed to their
//! addressee, an announce response with the interval.

use super::{ClientId, RelayServer, ServerAction};
use rendez_core::random::Random;
use rendez_core::strategy::RelayData;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The tracker's announce interval, in seconds.
const INTERVAL_SECS: u64 = 120;

pub struct SimTracker {
    swarms: BTreeMap<String, BTreeMap<String, ClientId>>,
    random: Random,
}

impl SimTracker {
    pub fn new(seed: u64) -> Self {
        Self { swarms: BTreeMap::new(), random: Random::seeded(seed) }
    }
}

fn text(value: Value) -> RelayData {
    RelayData::Text(value.to_string())
}

impl RelayServer for SimTracker {
    fn receive(&mut self, client: ClientId, data: RelayData, out: &mut Vec<ServerAction>) {
        let RelayData::Text(message) = data else { return out.push(ServerAction::Close(client)) };
        let Ok(m) = serde_json::from_str::<Value>(&message) else { return };
        let (Some(hash), Some(peer_id)) = (m["info_hash"].as_str(), m["peer_id"].as_str()) else { return };
        if m["action"] != "announce" {
            return;
        }
        let swarm = self.swarms.entry(hash.to_owned()).or_default();
        if m["event"] == "stopped" {
            swarm.remove(peer_id);
            return;
        }
        swarm.insert(peer_id.to_owned(), client);
        if !m["answer"].is_null() {
            if let Some(&to) = m["to_peer_id"].as_str().and_then(|to| swarm.get(to)) {
                let relayed = json!({"action": "announce", "info_hash": hash, "peer_id": peer_id,
                    "offer_id": m["offer_id"], "answer": m["answer"]});
                out.push(ServerAction::Send(to, text(relayed)));
            }
            return;
        }
        let response = json!({"action": "announce", "info_hash": hash, "interval": INTERVAL_SECS,
            "complete": 0, "incomplete": swarm.len()});
        out.push(ServerAction::Send(client, text(response)));
        let offers = m["offers"].as_array().cloned().unwrap_or_default();
        let mut others: Vec<ClientId> = swarm.iter().filter(|(id, _)| *id != peer_id).map(|(_, &c)| c).collect();
        for offer in offers {
            if others.is_empty() {
                break;
            }
            let pick = (self.random.unit() * others.len() as f64) as usize;
            let to = others.swap_remove(pick.min(others.len() - 1));
            let relayed = json!({"action": "announce", "info_hash": hash, "peer_id": peer_id,
                "offer_id": offer["offer_id"], "offer": offer["offer"]});
            out.push(ServerAction::Send(to, text(relayed)));
        }
    }

    fn disconnect(&mut self, client: ClientId) {
        for swarm in self.swarms.values_mut() {
            swarm.retain(|_, c| *c != client);
        }
    }
}
