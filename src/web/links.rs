//! The page's peer connections, shared by its rooms: carries out each app's [`Hub`] and routes
//! every connection's events. A connection not yet open belongs to the room whose signaling made
//! it; once open it is a link, whose messages go to the room their tag names.

use super::driver::{feed, now, read, with_driver, WeakDriver};
use super::media;
use super::payload::{allocate, JsBytes};
use super::peer::{Connection, Peer};
use crate::collections::Map;
use crate::hub::{Hub, HubOutput, LinkId, RoomRef, RoomTag, MAX_HUB_FRAME_LEN, TAG_LEN};
use crate::room::{ConnId, Connectivity, Input, OutFrame};
use js_sys::{ArrayBuffer, Uint8Array};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use web_sys::{MediaStream, MediaStreamTrack, RtcConfiguration, RtcPeerConnection, RtcRtpSender};

thread_local! {
    static LINKS: RefCell<Links> = RefCell::new(Links::default());
}

#[derive(Default)]
struct Links {
    next_link: u64,
    next_room: u64,
    connections: Map<LinkId, Entry>,
    rooms: Map<RoomRef, RoomEntry>,
    /// One hub per app id.
    hubs: Map<String, Hub>,
}

struct Entry {
    peer: Peer,
    app: String,
    /// The room connection whose signaling made it.
    creator: (RoomRef, ConnId),
    /// Open: a link, whose messages carry room tags.
    open: bool,
    /// The SCTP limit for room frames (less the tag).
    max_message_size: Option<f64>,
    /// The tracks each room sends on it, taken off when that room leaves it.
    senders: Vec<(RoomRef, RtcRtpSender)>,
}

struct RoomEntry {
    driver: WeakDriver,
    app: String,
    /// Known once the room key is derived; the room uses no shared connection before.
    tag: Option<RoomTag>,
}

fn with_links<T>(f: impl FnOnce(&mut Links) -> T) -> Option<T> {
    LINKS.with(|links| Some(f(&mut *links.try_borrow_mut().ok()?)))
}

impl Links {
    fn hub(&mut self, app: &str, self_id: &str) -> &mut Hub {
        self.hubs.get_or_insert_with(app.to_owned(), || Hub::new(self_id.to_owned()))
    }

    fn driver(&self, room: RoomRef) -> Option<WeakDriver> {
        self.rooms.get(&room).map(|r| r.driver.clone())
    }

    /// The room connections an event of `link` concerns: those bound to it once open, its creator
    /// before.
    fn targets(&self, link: LinkId) -> Vec<(WeakDriver, ConnId)> {
        let Some(entry) = self.connections.get(&link) else { return Vec::new() };
        let bound = match (entry.open, self.hubs.get(&entry.app)) {
            (true, Some(hub)) => hub.bindings(link),
            _ => vec![entry.creator],
        };
        bound.into_iter().filter_map(|(room, conn)| Some((self.driver(room)?, conn))).collect()
    }
}

/// Registers a room of `app`; it shares connections once [`share`] gives its tag (when its key
/// is derived).
pub(crate) fn join(app: &str, driver: WeakDriver) -> RoomRef {
    let room = with_links(|links| {
        let room = RoomRef(links.next_room);
        links.next_room += 1;
        links.rooms.insert(room, RoomEntry { driver, app: app.to_owned(), tag: None });
        room
    });
    room.unwrap_or(RoomRef(u64::MAX))
}

/// Lets `room` (of the page whose peer id is `self_id`), tagged `tag`, use and make shared
/// connections.
pub(crate) fn share(room: RoomRef, self_id: &str, tag: [u8; TAG_LEN]) {
    let app = with_links(|links| {
        let entry = links.rooms.get_mut(&room)?;
        entry.tag = Some(RoomTag(tag));
        let app = entry.app.clone();
        links.hub(&app, self_id).join(room, RoomTag(tag));
        Some(app)
    });
    if let Some(app) = app.flatten() {
        run_hub(&app);
    }
}

/// Forgets a room that left (its connections were closed as it left) and tells the hub.
/// Idempotent.
pub(crate) fn leave(room: RoomRef) {
    let app = with_links(|links| {
        let entry = links.rooms.remove(&room)?;
        links.hubs.get_mut(&entry.app)?.leave(room);
        Some(entry.app)
    });
    if let Some(app) = app.flatten() {
        run_hub(&app);
    }
}

/// Creates the connection `conn` of `room` asked for (trickling ICE candidates if `trickle`).
pub(crate) fn create(room: RoomRef, conn: ConnId, config: &RtcConfiguration, trickle: bool) -> Result<LinkId, JsValue> {
    let made = with_links(|links| -> Result<LinkId, JsValue> {
        let app = links.rooms.get(&room).ok_or_else(|| JsValue::from_str("the room left"))?.app.clone();
        let link = LinkId(links.next_link);
        let peer = Peer::new(config, link, trickle)?;
        links.next_link += 1;
        let entry =
            Entry { peer, app, creator: (room, conn), open: false, max_message_size: None, senders: Vec::new() };
        links.connections.insert(link, entry);
        Ok(link)
    });
    made.unwrap_or_else(|| Err(JsValue::from_str("connections are busy")))
}

/// Room `room` closed its connection `conn` on `link`: the link stays while other rooms use it.
pub(crate) fn close(room: RoomRef, conn: ConnId, link: LinkId) {
    let app = with_links(|links| {
        let entry = links.connections.get_mut(&link)?;
        let app = entry.app.clone();
        if !entry.open {
            if entry.creator == (room, conn) {
                links.connections.remove(&link);
            }
            return Some(app);
        }
        let (sent, kept) = std::mem::take(&mut entry.senders).into_iter().partition(|(r, _)| *r == room);
        entry.senders = kept;
        let connection = entry.peer.connection().clone();
        for (_, sender) in sent {
            // A closed connection refuses; it is going anyway.
            drop(connection.unchecked_ref::<Connection>().remove_track(&sender));
        }
        links.hubs.get_mut(&app)?.unbind(room, conn);
        Some(app)
    });
    if let Some(app) = app.flatten() {
        run_hub(&app);
    }
}

/// The browser connection of `link`.
pub(crate) fn connection(link: LinkId) -> Option<RtcPeerConnection> {
    with_links(|links| Some(links.connections.get(&link)?.peer.connection().clone())).flatten()
}

/// `room` sends a track on `link` through `sender`.
pub(crate) fn sent_by(link: LinkId, room: RoomRef, sender: RtcRtpSender) {
    with_links(|links| links.connections.get_mut(&link).map(|e| e.senders.push((room, sender))));
}

/// Whether `link` trickles ICE candidates.
pub(crate) fn trickles(link: LinkId) -> bool {
    with_links(|links| links.connections.get(&link).is_some_and(|e| e.peer.trickles())).unwrap_or(false)
}

/// Adds the peer's ICE candidate to `link`.
pub(crate) fn add_candidate(link: LinkId, candidate: &str) {
    with_links(|links| links.connections.get(&link).map(|e| e.peer.add_candidate(candidate)));
}

/// `link` found a local ICE candidate: for the room whose signaling makes it.
pub(crate) fn on_candidate(link: LinkId, candidate: String) {
    let creator = with_links(|links| {
        let entry = links.connections.get(&link).filter(|e| !e.open)?;
        Some((links.driver(entry.creator.0)?, entry.creator.1))
    });
    if let Some((driver, conn)) = creator.flatten() {
        feed(&driver, Input::LocalCandidate { conn, candidate });
    }
}

/// Sends `frame` of `room` on `link`, tagged; returns the bytes the channel holds unsent.
pub(crate) fn send(room: RoomRef, link: LinkId, frame: &OutFrame<JsBytes>) -> Result<u64, JsValue> {
    let sent = with_links(|links| -> Result<u64, JsValue> {
        let (Some(entry), Some(room)) = (links.connections.get(&link), links.rooms.get(&room)) else { return Ok(0) };
        let tag = room.tag.ok_or_else(|| JsValue::from_str("the room key is still being derived"))?;
        send_tagged(entry, tag, &frame.header, frame.body.as_ref())?;
        Ok(entry.peer.buffered())
    });
    sent.unwrap_or(Ok(0))
}

/// Sends `[tag][header][body]` on the connection of `entry`: the tag and header copied out of
/// Wasm memory, the body set from its view.
fn send_tagged(entry: &Entry, tag: RoomTag, header: &[u8], body: Option<&JsBytes>) -> Result<(), JsValue> {
    let body_len = body.map_or(0, |b| u64::from(b.0.length()));
    let message = allocate((TAG_LEN as u64 + header.len() as u64 + body_len) as u32)?;
    message.subarray(0, TAG_LEN as u32).copy_from(&tag.0);
    let header_end = (TAG_LEN + header.len()) as u32;
    message.subarray(TAG_LEN as u32, header_end).copy_from(header);
    if let Some(body) = body {
        message.set(&body.0, header_end);
    }
    // A channel that is closing refuses; its close event follows.
    drop(entry.peer.send(&message));
    Ok(())
}

/// Carries out what the hub of `app` asks, one output at a time, holding nothing borrowed while
/// a room runs.
fn run_hub(app: &str) {
    while let Some(output) = with_links(|links| links.hubs.get_mut(app)?.poll_output()).flatten() {
        match output {
            HubOutput::Send { link, frame } => send_hub_frame(link, &frame),
            HubOutput::Close { link } => drop(with_links(|links| links.connections.remove(&link))),
            HubOutput::Unbound { room, conn } => {
                if let Some(driver) = with_links(|links| links.driver(room)).flatten() {
                    feed(&driver, Input::ConnectionClosed { conn });
                }
            }
            HubOutput::Bind { link, room, peer, forced } => bind(app, link, room, &peer, forced),
        }
    }
}

/// Asks `room` to reach `peer` over `link`, and reports to the hub. The hub's bind frame goes out
/// before the room's first frame (its link proof), which the room sends when it drains.
fn bind(app: &str, link: LinkId, room: RoomRef, peer: &str, forced: bool) {
    let found = with_links(|links| {
        Some((links.driver(room)?, links.connections.get(&link).filter(|e| e.open)?.max_message_size))
    });
    let shared = found.flatten().and_then(|(driver, max)| Some((driver.upgrade()?, max)));
    let report = |conn: Option<ConnId>| {
        with_links(|links| links.hubs.get_mut(app).map(|hub| hub.bound(link, room, conn, forced))).flatten()
    };
    let refuse = || {
        if let Some(Ok(Some(frame))) = report(None) {
            send_hub_frame(link, &frame);
        }
    };
    let Some((shared, max_message_size)) = shared else { return refuse() };
    let done = with_driver(&shared, |driver, _| {
        let conn = driver.core.bind_link(now(), peer, forced, max_message_size);
        let report = report(conn);
        if let Some(Ok(Some(frame))) = &report {
            send_hub_frame(link, frame);
        }
        match (conn, report) {
            (Some(conn), Some(Ok(_))) => drop(driver.peers.insert(conn, link)),
            (Some(conn), _) => driver.core.handle_input(now(), Input::ConnectionClosed { conn }),
            (None, _) => {}
        }
    });
    if done.is_none() {
        refuse();
    }
}

fn send_hub_frame(link: LinkId, frame: &[u8]) {
    with_links(|links| links.connections.get(&link).map(|entry| send_tagged(entry, RoomTag::HUB, frame, None)));
}

/// The data channel of `link` opened: it becomes a link carrying its creator's room.
pub(crate) fn on_open(link: LinkId, max_message_size: Option<f64>) {
    // 0 means no limit; otherwise room frames leave room for the tag.
    let room_limit = max_message_size.map(|max| if max > TAG_LEN as f64 { max - TAG_LEN as f64 } else { max });
    let Some(Some((app, (room, conn), driver))) = with_links(|links| {
        let entry = links.connections.get(&link)?;
        let (app, creator) = (entry.app.clone(), entry.creator);
        Some((app, creator, links.driver(creator.0)?))
    }) else {
        return;
    };
    let peer = driver.upgrade().and_then(|shared| read(&shared, |d| d.core.peer_of(conn).map(str::to_owned)).flatten());
    // Only a connection the hub knows is a link; one whose room forgot it stays the room's to close.
    if let Some(peer) = peer {
        with_links(|links| {
            if links.hubs.get_mut(&app).is_some_and(|hub| hub.opened(link, &peer, room, conn)) {
                if let Some(entry) = links.connections.get_mut(&link) {
                    entry.open = true;
                    entry.max_message_size = room_limit;
                }
            }
        });
    }
    feed(&driver, Input::ConnectionOpened { conn, max_message_size: room_limit });
    run_hub(&app);
}

/// The data channel or connection of `link` closed or failed: every room on it loses its peer.
pub(crate) fn on_close(link: LinkId) {
    let Some(Some((app, creator))) = with_links(|links| {
        let entry = links.connections.remove(&link)?;
        if entry.open {
            links.hubs.get_mut(&entry.app)?.closed(link);
            return Some((entry.app, None));
        }
        Some((entry.app, links.driver(entry.creator.0).map(|d| (d, entry.creator.1))))
    }) else {
        return;
    };
    if let Some((driver, conn)) = creator {
        feed(&driver, Input::ConnectionClosed { conn });
    }
    run_hub(&app);
}

/// A message arrived on `link`: to the hub or the room its tag names.
pub(crate) fn on_message(link: LinkId, data: JsValue) {
    let Ok(buffer) = data.dyn_into::<ArrayBuffer>() else {
        for (driver, conn) in with_links(|links| links.targets(link)).unwrap_or_default() {
            feed(&driver, Input::NonBinaryFrame { conn });
        }
        return;
    };
    let message = Uint8Array::new(&buffer);
    let len = message.length() as usize;
    if len < TAG_LEN {
        return;
    }
    let mut tag = RoomTag::HUB;
    message.subarray(0, TAG_LEN as u32).copy_to(&mut tag.0);
    if tag == RoomTag::HUB {
        if len - TAG_LEN > MAX_HUB_FRAME_LEN {
            return;
        }
        let frame = message.subarray(TAG_LEN as u32, len as u32).to_vec();
        let app = with_links(|links| {
            let app = links.connections.get(&link).filter(|e| e.open)?.app.clone();
            links.hubs.get_mut(&app)?.receive(link, &frame);
            Some(app)
        });
        if let Some(app) = app.flatten() {
            run_hub(&app);
        }
        return;
    }
    let route = with_links(|links| {
        let entry = links.connections.get(&link).filter(|e| e.open)?;
        let (room, conn) = links.hubs.get(&entry.app)?.route(link, tag)?;
        Some((links.driver(room)?, conn))
    });
    if let Some((driver, conn)) = route.flatten() {
        let frame = JsBytes(message.subarray(TAG_LEN as u32, len as u32));
        feed(&driver, Input::Frame { conn, frame });
    }
}

/// The channel of `link` holds `amount` bytes unsent: every room on it may send more.
pub(crate) fn on_buffered(link: LinkId, amount: u64) {
    for (driver, conn) in with_links(|links| links.targets(link)).unwrap_or_default() {
        feed(&driver, Input::Buffered { conn, amount });
    }
}

/// The ICE transport of `link` changed state: its negotiator restarts it when it drops.
pub(crate) fn on_connectivity(link: LinkId, state: Connectivity) {
    if let Some((driver, conn)) = negotiator(link) {
        feed(&driver, Input::Connectivity { conn, state });
    }
}

/// The browser wants to renegotiate `link`: its media negotiator does.
pub(crate) fn on_negotiation_needed(link: LinkId) {
    if let Some((driver, conn)) = negotiator(link) {
        feed(&driver, Input::NegotiationNeeded { conn });
    }
}

/// The room connection that negotiates media on `link`: of those whose peer joined, the one with
/// the smallest tag (the same on both sides; `Hub::bindings` is in tag order).
fn negotiator(link: LinkId) -> Option<(WeakDriver, ConnId)> {
    let rooms = with_links(|links| links.targets(link)).unwrap_or_default();
    if rooms.len() == 1 {
        return rooms.into_iter().next();
    }
    rooms.into_iter().find(|(driver, conn)| {
        driver.upgrade().and_then(|shared| read(&shared, |d| d.core.is_joined(*conn))).unwrap_or(false)
    })
}

/// A remote track arrived on `link`: to each room whose peer announced its stream, or to the
/// media negotiator if none did.
pub(crate) fn on_track(link: LinkId, track: &MediaStreamTrack, stream: &MediaStream) {
    let rooms = with_links(|links| links.targets(link)).unwrap_or_default();
    let mut reported = false;
    for (driver, conn) in &rooms {
        reported |= media::report_track(driver, *conn, track, stream, rooms.len() == 1);
    }
    if !reported && rooms.len() > 1 {
        if let Some((driver, conn)) = negotiator(link) {
            media::report_track(&driver, conn, track, stream, true);
        }
    }
}
