//! The `joinRoom` config object.

use super::errors::invalid;
use crate::reassembly::Limits;
use crate::room::{Admission, DEFAULT_CONNECT_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT};
use js_sys::{Array, Object, Reflect};
use std::time::Duration;
use wasm_bindgen::prelude::*;
use web_sys::{RtcConfiguration, RtcPeerConnection};

/// STUN servers used when the app's `rtcConfig` names no `iceServers`.
pub const DEFAULT_ICE_SERVERS: &[&str] = &["stun:stun.l.google.com:19302", "stun:global.stun.twilio.com:3478"];

/// Reads the config's fields, checking their types.
struct Fields<'a>(&'a JsValue);

impl Fields<'_> {
    /// Field `key`, unless it is `undefined` or `null`.
    fn get(&self, key: &str) -> Option<JsValue> {
        Reflect::get(self.0, &key.into()).ok().filter(|v| !v.is_undefined() && !v.is_null())
    }

    fn string(&self, key: &str) -> Result<Option<String>, JsValue> {
        self.get(key)
            .map(|v| v.as_string().ok_or_else(|| invalid(&format!("config.{key} must be a string"))))
            .transpose()
    }

    /// Field `key` as a boolean; `name` is how errors call it.
    fn boolean(&self, key: &str, name: &str) -> Result<Option<bool>, JsValue> {
        self.get(key).map(|v| v.as_bool().ok_or_else(|| invalid(&format!("{name} must be a boolean")))).transpose()
    }

    fn number(&self, key: &str) -> Result<Option<f64>, JsValue> {
        self.get(key).map(|v| v.as_f64().ok_or_else(|| invalid(&format!("config.{key} must be a number")))).transpose()
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, JsValue> {
        let wrong = || invalid(&format!("config.{key} must be an array of strings"));
        self.get(key)
            .map(|v| {
                let list = v.dyn_into::<Array>().map_err(|_| wrong())?;
                list.iter().map(|item| item.as_string().ok_or_else(wrong)).collect()
            })
            .transpose()
    }
}

/// A validated room config.
pub struct RoomConfig {
    pub app_id: String,
    pub password: Option<String>,
    relay_urls: Option<Vec<String>>,
    relay_redundancy: Option<usize>,
    pub rtc_config: RtcConfiguration,
    pub limits: Limits,
    /// Time from SDP exchange to an open channel before a connection is given up.
    pub connect_timeout: Duration,
    /// Whether the peer is passive (`passive: true`).
    pub passive: bool,
    /// Whether relay failures are warned about (`relayConfig.warnOnRelayFailure`, default true).
    pub relay_warnings: bool,
    /// Whether ICE candidates trickle through the relays (`trickleIce`, default false).
    pub trickle_ice: bool,
}

/// A non-negative finite number from the config, or an error naming `key`.
fn non_negative(value: Option<f64>, key: &str) -> Result<Option<f64>, JsValue> {
    match value {
        Some(v) if !(v.is_finite() && v >= 0.0) => Err(invalid(&format!("config.{key} must be a non-negative number"))),
        other => Ok(other),
    }
}

impl RoomConfig {
    /// Reads `{appId, password?, relayUrls?, relayRedundancy?, relayConfig?: {urls?,
    /// redundancy?, warnOnRelayFailure?}, passive?, trickleIce?, rtcConfig?, turnConfig?, maxMessageSize?, maxInFlightPerPeer?,
    /// maxInFlight?, connectTimeout?}`; `relayConfig` (Trystero 0.25's form) wins over `relayUrls` and
    /// `relayRedundancy`.
    pub fn parse(config: &JsValue) -> Result<Self, JsValue> {
        if !config.is_object() {
            return Err(invalid("joinRoom needs a config object with an appId"));
        }
        let fields = Fields(config);
        let app_id =
            fields.string("appId")?.filter(|id| !id.is_empty()).ok_or_else(|| invalid("config.appId is required"))?;
        let rtc_config = rtc_configuration(config)?;
        let defaults = Limits::default();
        // Payloads are reassembled into one ArrayBuffer, so no limit goes past u32::MAX bytes.
        let bytes = |value, key, default| {
            Ok::<u64, JsValue>(non_negative(value, key)?.map_or(default, |v| v as u64).min(u64::from(u32::MAX)))
        };
        let limits = Limits {
            max_message: bytes(fields.number("maxMessageSize")?, "maxMessageSize", defaults.max_message)?,
            max_in_flight: bytes(fields.number("maxInFlightPerPeer")?, "maxInFlightPerPeer", defaults.max_in_flight)?,
            max_in_flight_total: bytes(fields.number("maxInFlight")?, "maxInFlight", defaults.max_in_flight_total)?,
        };
        let connect_timeout = non_negative(fields.number("connectTimeout")?, "connectTimeout")?
            .map_or(DEFAULT_CONNECT_TIMEOUT, |ms| Duration::from_millis(ms.min(f64::from(u32::MAX)) as u64));
        let relay_config = fields.get("relayConfig");
        if relay_config.as_ref().is_some_and(|c| !c.is_object()) {
            return Err(invalid("config.relayConfig must be an object"));
        }
        let relay = relay_config.as_ref().map(Fields);
        let relay_urls = match relay.as_ref().map(|r| r.strings("urls")).transpose()?.flatten() {
            Some(urls) => Some(urls),
            None => fields.strings("relayUrls")?,
        };
        let redundancy = match relay.as_ref().map(|r| r.number("redundancy")).transpose()?.flatten() {
            Some(n) => Some(n),
            None => fields.number("relayRedundancy")?,
        };
        let passive = fields.boolean("passive", "config.passive")?.unwrap_or(false);
        let relay_warnings = match &relay {
            Some(relay) => relay.boolean("warnOnRelayFailure", "config.relayConfig.warnOnRelayFailure")?,
            None => None,
        };
        Ok(Self {
            limits,
            connect_timeout,
            passive,
            relay_warnings: relay_warnings.unwrap_or(true),
            trickle_ice: fields.boolean("trickleIce", "config.trickleIce")?.unwrap_or(false),
            app_id,
            password: fields.string("password")?.filter(|p| !p.is_empty()),
            relay_urls,
            relay_redundancy: non_negative(redundancy, "relayRedundancy")?.map(|n| n as usize),
            rtc_config,
        })
    }

    /// The relays to use: `relayUrls` if given, else `defaults`; at most `relayRedundancy`
    /// of them when set, else `default_redundancy` of the defaults (all of an explicit list).
    pub fn relay_urls(&self, defaults: &[&str], default_redundancy: usize) -> Vec<String> {
        match &self.relay_urls {
            Some(urls) => urls.iter().take(self.relay_redundancy.unwrap_or(urls.len())).cloned().collect(),
            None => defaults
                .iter()
                .take(self.relay_redundancy.unwrap_or(default_redundancy))
                .map(|u| (*u).to_owned())
                .collect(),
        }
    }
}

/// How peers are admitted, from `{handshake: boolean, handshakeTimeoutMs?: number}`: with a
/// handshake or at once, and within how long.
pub fn admission(options: &JsValue) -> Result<(Admission, Duration), JsValue> {
    let fields = Fields(options);
    let handshake = fields.get("handshake").is_some_and(|v| v.is_truthy());
    let timeout = match fields.number("handshakeTimeoutMs")? {
        Some(ms) if !(ms.is_finite() && ms > 0.0) => {
            return Err(invalid("handshakeTimeoutMs must be a positive number"))
        }
        Some(ms) => Duration::from_millis(ms.min(f64::from(u32::MAX)) as u64),
        None => DEFAULT_HANDSHAKE_TIMEOUT,
    };
    Ok((if handshake { Admission::Handshake } else { Admission::Immediate }, timeout))
}

/// The configuration of every peer connection: a copy of `rtcConfig` whose `iceServers` (the
/// default STUN servers when it names none) are followed by the `turnConfig` servers. The browser
/// checks the result once here, so a bad server entry fails `joinRoom` with its own message.
fn rtc_configuration(config: &JsValue) -> Result<RtcConfiguration, JsValue> {
    let get = |target: &JsValue, key: &str| Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let rtc = Object::new();
    let given = get(config, "rtcConfig");
    if given.is_object() {
        Object::assign(&rtc, given.unchecked_ref());
    }
    let listed = get(&rtc, "iceServers");
    let turn = get(config, "turnConfig");
    if !(turn.is_undefined() || turn.is_null() || Array::is_array(&turn)) {
        return Err(invalid("config.turnConfig must be an array of {urls, username, credential}"));
    }
    // A non-array `iceServers` is left for the browser's check below to reject.
    if listed.is_undefined() || Array::is_array(&listed) {
        let servers = if listed.is_undefined() { default_ice_servers() } else { Array::from(&listed) };
        if Array::is_array(&turn) {
            for server in Array::from(&turn) {
                servers.push(&server);
            }
        }
        let _ = Reflect::set(&rtc, &"iceServers".into(), &servers);
    }
    let rtc: RtcConfiguration = rtc.unchecked_into();
    let probe = RtcPeerConnection::new_with_configuration(&rtc).map_err(|e| {
        let reason = Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_default();
        invalid(&format!("invalid rtcConfig or turnConfig: {reason}"))
    })?;
    probe.close();
    Ok(rtc)
}

fn default_ice_servers() -> Array {
    DEFAULT_ICE_SERVERS
        .iter()
        .map(|url| {
            let server = Object::new();
            let _ = Reflect::set(&server, &"urls".into(), &(*url).into());
            JsValue::from(server)
        })
        .collect()
}
