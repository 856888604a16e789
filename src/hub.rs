//! Shared connections: a page reaches each peer it meets in several rooms of one app over one
//! peer connection (a *link*), and every data-channel message on a link names its room.
//!
//! Sans-IO like the room: the driver reports links that open and close, the rooms that join and
//! leave the page, the connections rooms close, and the link's own frames; it carries out
//! [`HubOutput`]s. A message on a link is `[room tag: 8 bytes][room frame]` (the tag is
//! [`crate::crypto::RoomKey::tag`]); the zero tag marks the hub's own frames:
//! `[kind: u8][body]`, where kind `1` lists the sender's rooms (tags, 8 bytes each), `2` binds
//! the tagged room onto this link and `3` unbinds it.
//!
//! Rules: a link is made by one room's signaling and carries that room first; each side tells
//! the other, on every link, which rooms it is in (again whenever that changes); the side with
//! the smaller peer id leads: for a room both are in that neither reaches the other in yet, it
//! binds its room onto the oldest link and says so, and the other side obeys (replacing a
//! connection of that room to the peer still being set up) or unbinds at once if it cannot; a
//! room bound over a link proves that it holds the room key before its peer is admitted (see
//! `Room::bind_link`); a link closes when no room uses it any more. Media on a link is
//! negotiated by the room bound to it with the smallest tag among those whose peer joined (the
//! driver knows which joined), the same room on both sides once both admitted it.

use crate::collections::Map;
use crate::crypto::ROOM_TAG_LEN;
use crate::room::ConnId;
use std::collections::VecDeque;

/// Bytes before every data-channel message: the tag of its room.
pub const TAG_LEN: usize = ROOM_TAG_LEN;
/// Rooms a peer may list; the rest of a longer list is ignored.
pub const MAX_LISTED_ROOMS: usize = 256;
/// Longest hub frame read.
pub const MAX_HUB_FRAME_LEN: usize = 1 + MAX_LISTED_ROOMS * TAG_LEN;

const KIND_ROOMS: u8 = 1;
const KIND_BIND: u8 = 2;
const KIND_UNBIND: u8 = 3;

/// A room's name on links: [`crate::crypto::RoomKey::tag`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomTag(pub [u8; TAG_LEN]);

impl RoomTag {
    /// The tag of the hub's own frames.
    pub const HUB: RoomTag = RoomTag([0; TAG_LEN]);
}

/// One peer connection, named by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u64);

/// One room of the page, named by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomRef(pub u64);

/// Something for the driver to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubOutput {
    /// Send a hub frame (without its zero tag) on `link`.
    Send { link: LinkId, frame: Vec<u8> },
    /// Ask `room` to reach `peer` over `link` (`Room::bind_link`, obeying the peer when `forced`),
    /// then report the connection it made, or none, with [`Hub::bound`].
    Bind { link: LinkId, room: RoomRef, peer: String, forced: bool },
    /// The connection `conn` of `room` over a link is gone (the peer unbound it, or the link
    /// closed): report it closed to the room.
    Unbound { room: RoomRef, conn: ConnId },
    /// No room uses `link` any more: close it.
    Close { link: LinkId },
}

/// The link of a bind is closed, or its room left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkGone;

/// A room's connection over a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Binding {
    room: RoomRef,
    conn: ConnId,
}

struct Link {
    peer: String,
    /// The rooms it carries, by tag (in tag order: the first negotiates media).
    bindings: Map<RoomTag, Binding>,
}

/// The shared connections of one app on one page.
pub struct Hub {
    self_id: String,
    /// Every room of the page, with its tag.
    tags: Map<RoomRef, RoomTag>,
    /// The room that shares each tag: the first joined (a second room with the same tag keeps to
    /// its own connections).
    rooms: Map<RoomTag, RoomRef>,
    /// Open links, oldest first.
    links: Map<LinkId, Link>,
    /// The rooms each linked peer last listed.
    listed: Map<String, Vec<RoomTag>>,
    /// Binds asked of rooms and not yet reported.
    asked: Vec<(LinkId, RoomRef)>,
    outputs: VecDeque<HubOutput>,
}

impl Hub {
    /// The hub of a page whose peer id is `self_id`.
    pub fn new(self_id: String) -> Self {
        Self {
            self_id,
            tags: Map::default(),
            rooms: Map::default(),
            links: Map::default(),
            listed: Map::default(),
            asked: Vec::new(),
            outputs: VecDeque::new(),
        }
    }

    /// The next thing to carry out.
    pub fn poll_output(&mut self) -> Option<HubOutput> {
        self.outputs.pop_front()
    }

    /// `room`, tagged `tag`, joined the page.
    pub fn join(&mut self, room: RoomRef, tag: RoomTag) {
        self.tags.insert(room, tag);
        if self.rooms.contains_key(&tag) {
            return;
        }
        self.rooms.insert(tag, room);
        self.list_rooms_everywhere();
        for peer in self.linked_peers() {
            self.bind_missing(&peer);
        }
    }

    /// `room` left the page (its connections were closed with [`Hub::unbind`]).
    pub fn leave(&mut self, room: RoomRef) {
        let Some(tag) = self.tags.remove(&room) else { return };
        if self.rooms.get(&tag) == Some(&room) {
            self.rooms.remove(&tag);
            self.list_rooms_everywhere();
        }
        let bound: Vec<(LinkId, ConnId)> = self
            .links
            .iter()
            .filter_map(|(&link, l)| l.bindings.get(&tag).filter(|b| b.room == room).map(|b| (link, b.conn)))
            .collect();
        for (_, conn) in bound {
            self.unbind(room, conn);
        }
    }

    /// The connection `conn` of `room` to `peer` opened on `link`, which the room's signaling
    /// made: the link carries that room, and may carry others. Returns `false` (nothing is
    /// recorded) if the room is not the page's.
    pub fn opened(&mut self, link: LinkId, peer: &str, room: RoomRef, conn: ConnId) -> bool {
        let Some(&tag) = self.tags.get(&room) else { return false };
        let mut bindings = Map::default();
        bindings.insert(tag, Binding { room, conn });
        self.links.insert(link, Link { peer: peer.to_owned(), bindings });
        self.send(link, self.rooms_frame());
        self.bind_missing(peer);
        true
    }

    /// `link` closed: every room on it loses its connection.
    pub fn closed(&mut self, link: LinkId) {
        let Some(l) = self.links.remove(&link) else { return };
        for (_, b) in l.bindings.iter() {
            self.outputs.push_back(HubOutput::Unbound { room: b.room, conn: b.conn });
        }
        self.asked.retain(|(l, _)| *l != link);
        if !self.links.values().any(|other| other.peer == l.peer) {
            self.listed.remove(&l.peer);
        }
    }

    /// `room` closed its connection `conn`. Returns whether it ran over a link (which stays open
    /// while other rooms use it); if not, the driver closes the connection itself.
    pub fn unbind(&mut self, room: RoomRef, conn: ConnId) -> bool {
        let found = self.links.iter().find_map(|(&link, l)| {
            l.bindings.iter().find(|(_, b)| b.room == room && b.conn == conn).map(|(&tag, _)| (link, tag))
        });
        let Some((link, tag)) = found else { return false };
        self.remove_binding(link, tag, false);
        true
    }

    /// What `room` did about a [`HubOutput::Bind`]: `conn` is its connection over `link`, or
    /// none if it could not bind. Returns the hub frame to send on `link` at once, before any
    /// frame of the room; `Err` when the link is gone meanwhile (the room's connection is closed).
    pub fn bound(
        &mut self,
        link: LinkId,
        room: RoomRef,
        conn: Option<ConnId>,
        forced: bool,
    ) -> Result<Option<Vec<u8>>, LinkGone> {
        self.asked.retain(|&asked| asked != (link, room));
        let Some(&tag) = self.tags.get(&room) else { return Err(LinkGone) };
        let Some(l) = self.links.get_mut(&link) else { return Err(LinkGone) };
        Ok(match conn {
            Some(conn) => {
                l.bindings.insert(tag, Binding { room, conn });
                (!forced).then(|| tag_frame(KIND_BIND, tag))
            }
            None if forced => Some(tag_frame(KIND_UNBIND, tag)),
            None => None,
        })
    }

    /// A hub frame (after its zero tag) arrived on `link`; malformed ones are ignored.
    pub fn receive(&mut self, link: LinkId, frame: &[u8]) {
        let Some(peer) = self.links.get(&link).map(|l| l.peer.clone()) else { return };
        let Some((&kind, body)) = frame.split_first() else { return };
        match kind {
            KIND_ROOMS => {
                let tags = body.chunks_exact(TAG_LEN).take(MAX_LISTED_ROOMS).map(read_tag).collect();
                self.listed.insert(peer.clone(), tags);
                self.bind_missing(&peer);
            }
            KIND_BIND if body.len() == TAG_LEN => self.on_bind(link, peer, read_tag(body)),
            KIND_UNBIND if body.len() == TAG_LEN => self.remove_binding(link, read_tag(body), true),
            _ => {}
        }
    }

    /// The room and connection that frames tagged `tag` on `link` are for.
    pub fn route(&self, link: LinkId, tag: RoomTag) -> Option<(RoomRef, ConnId)> {
        self.links.get(&link)?.bindings.get(&tag).map(|b| (b.room, b.conn))
    }

    /// Every room connection over `link`, in tag order (the first whose peer joined negotiates
    /// its media).
    pub fn bindings(&self, link: LinkId) -> Vec<(RoomRef, ConnId)> {
        self.links.get(&link).map_or_else(Vec::new, |l| l.bindings.values().map(|b| (b.room, b.conn)).collect())
    }

    /// The peer asks us to bind room `tag` onto `link`.
    fn on_bind(&mut self, link: LinkId, peer: String, tag: RoomTag) {
        let bound_here = self.links.get(&link).is_some_and(|l| l.bindings.contains_key(&tag));
        match self.rooms.get(&tag) {
            _ if bound_here => {}
            Some(&room) => self.ask(link, room, peer, true),
            None => self.send(link, tag_frame(KIND_UNBIND, tag)),
        }
    }

    /// As the leader, binds every room both sides are in that does not reach `peer` yet.
    fn bind_missing(&mut self, peer: &str) {
        if self.self_id.as_str() >= peer {
            return;
        }
        let Some(listed) = self.listed.get(peer) else { return };
        let wanted: Vec<(RoomTag, RoomRef)> =
            self.rooms.iter().filter(|(tag, _)| listed.contains(tag)).map(|(&tag, &room)| (tag, room)).collect();
        for (tag, room) in wanted {
            let reached =
                self.links.values().any(|l| l.peer == peer && l.bindings.get(&tag).is_some_and(|b| b.room == room));
            let asked = self.asked.iter().any(|(l, r)| *r == room && self.links.get(l).is_some_and(|l| l.peer == peer));
            let free = self.links.iter().find(|(_, l)| l.peer == peer && !l.bindings.contains_key(&tag));
            if let (false, false, Some((&link, _))) = (reached, asked, free) {
                self.ask(link, room, peer.to_owned(), false);
            }
        }
    }

    fn ask(&mut self, link: LinkId, room: RoomRef, peer: String, forced: bool) {
        self.asked.push((link, room));
        self.outputs.push_back(HubOutput::Bind { link, room, peer, forced });
    }

    /// Room `tag` leaves `link`: the room is told when the peer unbound it (`by_peer`), the peer
    /// otherwise; a link nobody uses closes.
    fn remove_binding(&mut self, link: LinkId, tag: RoomTag, by_peer: bool) {
        let Some(l) = self.links.get_mut(&link) else { return };
        let Some(binding) = l.bindings.remove(&tag) else { return };
        let empty = l.bindings.is_empty();
        if by_peer {
            self.outputs.push_back(HubOutput::Unbound { room: binding.room, conn: binding.conn });
        }
        if empty {
            self.closed(link);
            self.outputs.push_back(HubOutput::Close { link });
        } else if !by_peer {
            self.send(link, tag_frame(KIND_UNBIND, tag));
        }
    }

    fn linked_peers(&self) -> Vec<String> {
        let mut peers: Vec<String> = self.links.values().map(|l| l.peer.clone()).collect();
        peers.sort();
        peers.dedup();
        peers
    }

    fn rooms_frame(&self) -> Vec<u8> {
        let mut frame = vec![KIND_ROOMS];
        for tag in self.rooms.keys().take(MAX_LISTED_ROOMS) {
            frame.extend_from_slice(&tag.0);
        }
        frame
    }

    fn list_rooms_everywhere(&mut self) {
        let frame = self.rooms_frame();
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        for link in links {
            self.send(link, frame.clone());
        }
    }

    fn send(&mut self, link: LinkId, frame: Vec<u8>) {
        self.outputs.push_back(HubOutput::Send { link, frame });
    }
}

fn tag_frame(kind: u8, tag: RoomTag) -> Vec<u8> {
    let mut frame = vec![kind];
    frame.extend_from_slice(&tag.0);
    frame
}

fn read_tag(bytes: &[u8]) -> RoomTag {
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&bytes[..TAG_LEN]);
    RoomTag(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: RoomTag = RoomTag([1; TAG_LEN]);
    const R: RoomTag = RoomTag([2; TAG_LEN]);
    const LINK: LinkId = LinkId(7);
    /// Rooms are `RoomRef(tag byte)` on both pages; connections count up per side.
    fn room(tag: RoomTag) -> RoomRef {
        RoomRef(u64::from(tag.0[0]))
    }

    /// Two pages' hubs over one link; `a` has the smaller peer id and leads.
    struct Pages {
        hubs: [Hub; 2],
        next_conn: u64,
        /// Rooms that refuse to bind, per side.
        refusing: [Vec<RoomRef>; 2],
        /// What each side's rooms were told (`Unbound`) and which links closed.
        told: [Vec<HubOutput>; 2],
    }

    impl Pages {
        fn new(rooms: [&[RoomTag]; 2]) -> Self {
            let mut hubs = [Hub::new("A".repeat(20)), Hub::new("B".repeat(20))];
            for (hub, tags) in hubs.iter_mut().zip(rooms) {
                for &tag in tags {
                    hub.join(room(tag), tag);
                }
            }
            Self { hubs, next_conn: 100, refusing: [Vec::new(), Vec::new()], told: [Vec::new(), Vec::new()] }
        }

        /// The link opens, made by room `S`'s signaling.
        fn open(&mut self) {
            let (a, b) = (self.conn(), self.conn());
            self.hubs[0].opened(LINK, &"B".repeat(20), room(S), a);
            self.hubs[1].opened(LINK, &"A".repeat(20), room(S), b);
            self.pump();
        }

        fn conn(&mut self) -> ConnId {
            self.next_conn += 1;
            ConnId(self.next_conn)
        }

        /// Carries every output out, side by side, until both are quiet.
        fn pump(&mut self) {
            loop {
                let mut quiet = true;
                for side in 0..2 {
                    while let Some(output) = self.hubs[side].poll_output() {
                        quiet = false;
                        self.carry_out(side, output);
                    }
                }
                if quiet {
                    return;
                }
            }
        }

        fn carry_out(&mut self, side: usize, output: HubOutput) {
            match output {
                HubOutput::Send { link, frame } => self.hubs[1 - side].receive(link, &frame),
                HubOutput::Bind { link, room, forced, .. } => {
                    let conn = (!self.refusing[side].contains(&room)).then(|| self.conn());
                    if let Ok(Some(frame)) = self.hubs[side].bound(link, room, conn, forced) {
                        self.hubs[1 - side].receive(link, &frame);
                    }
                }
                told => self.told[side].push(told),
            }
        }

        fn routes(&self, tag: RoomTag) -> [bool; 2] {
            [0, 1].map(|side| self.hubs[side].route(LINK, tag).is_some_and(|(r, _)| r == room(tag)))
        }
    }

    #[test]
    fn the_leader_binds_rooms_both_are_in_and_the_follower_obeys() {
        let mut pages = Pages::new([&[S, R], &[R, S]]);
        pages.open();
        assert_eq!(pages.routes(S), [true, true]);
        assert_eq!(pages.routes(R), [true, true]);
        for hub in &pages.hubs {
            let rooms: Vec<RoomRef> = hub.bindings(LINK).into_iter().map(|(r, _)| r).collect();
            assert_eq!(rooms, vec![room(S), room(R)], "in tag order, whichever bound first");
        }
    }

    #[test]
    fn a_room_joined_later_is_bound_once_listed() {
        let mut pages = Pages::new([&[S, R], &[S]]);
        pages.open();
        assert_eq!(pages.routes(R), [false, false]);
        pages.hubs[1].join(room(R), R);
        pages.pump();
        assert_eq!(pages.routes(R), [true, true]);
        // The follower joining first works too: the leader binds when it joins.
        let mut pages = Pages::new([&[S], &[S, R]]);
        pages.open();
        pages.hubs[0].join(room(R), R);
        pages.pump();
        assert_eq!(pages.routes(R), [true, true]);
    }

    #[test]
    fn leaving_unbinds_both_sides_and_the_last_room_closes_the_link() {
        let mut pages = Pages::new([&[S, R], &[S, R]]);
        pages.open();
        let (_, conn) = pages.hubs[1].route(LINK, R).unwrap();
        assert!(pages.hubs[1].unbind(room(R), conn));
        pages.pump();
        assert_eq!(pages.routes(R), [false, false]);
        assert!(matches!(pages.told[0][..], [HubOutput::Unbound { room: r, .. }] if r == room(R)));
        assert!(pages.told[1].is_empty(), "the room that closed is not told again");
        let (_, conn) = pages.hubs[0].route(LINK, S).unwrap();
        assert!(pages.hubs[0].unbind(room(S), conn));
        pages.pump();
        assert_eq!(pages.told[0].last(), Some(&HubOutput::Close { link: LINK }));
        // The other side learns from the channel closing.
        pages.hubs[1].closed(LINK);
        pages.pump();
        assert!(matches!(pages.told[1][..], [HubOutput::Unbound { room: r, .. }] if r == room(S)));
        assert!(!pages.hubs[1].unbind(room(S), ConnId(0)), "nothing is left to unbind");
    }

    #[test]
    fn a_side_that_cannot_bind_unbinds_the_other() {
        // The follower's room refuses (it is closing, or its page is busy).
        let mut pages = Pages::new([&[S, R], &[S, R]]);
        pages.refusing[1].push(room(R));
        pages.open();
        assert_eq!(pages.routes(R), [false, false]);
        assert!(matches!(pages.told[0][..], [HubOutput::Unbound { room: r, .. }] if r == room(R)));
        // The leader's room refuses (it has an open connection of its own): nothing is said.
        let mut pages = Pages::new([&[S, R], &[S, R]]);
        pages.refusing[0].push(room(R));
        pages.open();
        assert_eq!(pages.routes(R), [false, false]);
        assert!(pages.told.iter().all(Vec::is_empty));
    }

    #[test]
    fn a_second_room_with_the_same_tag_shares_nothing() {
        let mut pages = Pages::new([&[S, R], &[S, R]]);
        pages.hubs[0].join(RoomRef(99), R);
        pages.open();
        assert_eq!(pages.routes(R), [true, true], "the first room with the tag is bound");
        pages.hubs[0].leave(RoomRef(99));
        pages.pump();
        assert_eq!(pages.routes(R), [true, true]);
    }

    #[test]
    fn hub_frames_of_any_shape_are_read_without_panicking() {
        let mut pages = Pages::new([&[S, R], &[S, R]]);
        pages.open();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..10_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let frame: Vec<u8> = (0..len).map(|i| (seed >> (i % 8 * 8)) as u8 % 4).collect();
            pages.hubs[1].receive(LINK, &frame);
            pages.pump();
        }
        assert!(pages.hubs[1].links.len() <= 1);
    }
}
