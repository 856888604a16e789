//! What one page shares between its rooms: its peer id, and the rooms themselves for the
//! page-wide calls (pausing reconnection, listing relay sockets).

use super::driver::{now, with_driver, Shared, WeakDriver};
use crate::random::{Random, PEER_ID_LEN};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

thread_local! {
    static SELF_ID: String = Random::os().id(PEER_ID_LEN);
    static ROOMS: RefCell<Vec<WeakDriver>> = const { RefCell::new(Vec::new()) };
    static PAUSED: Cell<bool> = const { Cell::new(false) };
}

/// This page's peer id, the same in every room it joins.
pub fn self_id() -> String {
    SELF_ID.with(String::clone)
}

/// Remembers a new room, and pauses its reconnection if the page's is paused.
pub(crate) fn register(shared: &Shared) {
    ROOMS.with(|rooms| {
        let mut rooms = rooms.borrow_mut();
        rooms.retain(|room| room.strong_count() > 0);
        rooms.push(Rc::downgrade(shared));
    });
    if PAUSED.with(Cell::get) {
        with_driver(shared, |driver, _| driver.core.set_reconnection_paused(now(), true));
    }
}

/// Every room of the page that is not dropped.
pub(crate) fn rooms() -> Vec<Shared> {
    ROOMS.with(|rooms| rooms.borrow().iter().filter_map(|room| room.upgrade()).collect())
}

/// Wakes every room of the page after it may have slept (see `Room::wake`).
pub(crate) fn wake() {
    for room in rooms() {
        with_driver(&room, |driver, _| driver.core.wake(now()));
    }
}

/// Stops (`true`) or resumes reconnecting relays in every room of the page.
pub(crate) fn set_reconnection_paused(paused: bool) {
    PAUSED.with(|p| p.set(paused));
    for room in rooms() {
        with_driver(&room, |driver, _| driver.core.set_reconnection_paused(now(), paused));
    }
}
