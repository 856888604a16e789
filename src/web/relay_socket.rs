//! A WebSocket to one relay that reconnects with exponential backoff and jitter.

use super::console::warn;
use crate::backoff::backoff_delay;
use gloo_timers::callback::Timeout;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};

/// What a relay socket reports.
pub enum SocketEvent {
    /// The socket (re)opened.
    Open,
    /// A text message arrived.
    Message(String),
    /// A binary message arrived (signaling bytes, small and bounded by the strategy).
    Binary(Vec<u8>),
}

/// Largest relay message read (UTF-16 units for text, bytes for binary); signaling messages
/// are a few KiB.
pub const MAX_MESSAGE_LEN: usize = 1024 * 1024;

type Handler = Closure<dyn FnMut(JsValue)>;
type EventHandler = dyn Fn(&Reply, SocketEvent) -> Result<(), String>;

struct Live {
    socket: WebSocket,
    _handlers: [Handler; 3],
}

impl Drop for Live {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

thread_local! {
    /// Every relay socket of this page, for pausing and resuming reconnection and for listing.
    static SOCKETS: RefCell<Vec<Weak<Inner>>> = const { RefCell::new(Vec::new()) };
    static PAUSED: Cell<bool> = const { Cell::new(false) };
}

/// Stops scheduling reconnections; sockets that drop wait for [`resume_reconnection`].
pub fn pause_reconnection() {
    PAUSED.with(|p| p.set(true));
}

/// The current WebSocket of every relay socket of this page that is not closed for good.
pub fn all_web_sockets() -> Vec<(String, WebSocket)> {
    let live: Vec<Rc<Inner>> =
        SOCKETS.with(|sockets| sockets.borrow().iter().filter_map(Weak::upgrade).filter(|s| !s.closed.get()).collect());
    live.iter().filter_map(|inner| Some((inner.url.clone(), inner.live.borrow().as_ref()?.socket.clone()))).collect()
}

/// Resumes reconnection and reconnects at once every socket that dropped while paused.
pub fn resume_reconnection() {
    PAUSED.with(|p| p.set(false));
    let waiting: Vec<Rc<Inner>> =
        SOCKETS.with(|sockets| sockets.borrow().iter().filter_map(Weak::upgrade).filter(|s| s.waiting.get()).collect());
    for inner in waiting {
        inner.waiting.set(false);
        inner.failures.set(0);
        if !inner.closed.get() {
            open(&inner);
        }
    }
}

struct Inner {
    url: String,
    protocols: Vec<String>,
    on_event: Box<EventHandler>,
    live: RefCell<Option<Live>>,
    failures: Cell<u32>,
    retry: RefCell<Option<Timeout>>,
    closed: Cell<bool>,
    /// Dropped while reconnection was paused.
    waiting: Cell<bool>,
}

/// A self-healing connection to one relay.
pub struct RelaySocket(Rc<Inner>);

impl RelaySocket {
    /// Connects to `url` (offering `protocols`); `on_event` hears every open and message, with a
    /// [`Reply`] to answer on the same connection. When it returns an error (the relay's stream
    /// became unreadable, or it refused us), the error is logged and the socket reconnects after
    /// the usual backoff.
    pub fn connect(
        url: &str,
        protocols: &[&str],
        on_event: impl Fn(&Reply, SocketEvent) -> Result<(), String> + 'static,
    ) -> Self {
        let inner = Rc::new(Inner {
            url: url.to_owned(),
            protocols: protocols.iter().map(|p| (*p).to_owned()).collect(),
            on_event: Box::new(on_event),
            live: RefCell::new(None),
            failures: Cell::new(0),
            retry: RefCell::new(None),
            closed: Cell::new(false),
            waiting: Cell::new(false),
        });
        SOCKETS.with(|sockets| {
            let mut sockets = sockets.borrow_mut();
            sockets.retain(|s| s.strong_count() > 0);
            sockets.push(Rc::downgrade(&inner));
        });
        open(&inner);
        Self(inner)
    }

    /// One socket per URL, each reporting to `on_event` with its index in `urls` and the state
    /// the strategy shares between its sockets.
    pub fn connect_all<S: 'static>(
        urls: &[String],
        protocols: &[&str],
        shared: &Rc<S>,
        on_event: fn(&S, usize, &Reply, SocketEvent) -> Result<(), String>,
    ) -> Vec<Self> {
        urls.iter()
            .enumerate()
            .map(|(index, url)| {
                let shared = shared.clone();
                Self::connect(url, protocols, move |reply, event| on_event(&shared, index, reply, event))
            })
            .collect()
    }

    /// The relay's URL.
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// The current WebSocket, if one exists.
    pub fn web_socket(&self) -> Option<WebSocket> {
        self.0.live.borrow().as_ref().map(|l| l.socket.clone())
    }

    /// Whether the socket is open now.
    pub fn is_open(&self) -> bool {
        self.web_socket().is_some_and(|s| s.ready_state() == WebSocket::OPEN)
    }

    /// Sends `text` if the socket is open; returns whether it was sent.
    pub fn send(&self, text: &str) -> bool {
        self.is_open() && self.web_socket().is_some_and(|s| s.send_with_str(text).is_ok())
    }

    /// Sends `bytes` as one binary message if the socket is open; returns whether it was sent.
    pub fn send_bytes(&self, bytes: &[u8]) -> bool {
        self.is_open() && self.web_socket().is_some_and(|s| s.send_with_u8_array(bytes).is_ok())
    }

    /// Closes the socket for good.
    pub fn close(&self) {
        self.0.closed.set(true);
        self.0.retry.borrow_mut().take();
        self.0.live.borrow_mut().take();
    }
}

fn open(inner: &Rc<Inner>) {
    let socket = match WebSocket::new_with_str_sequence(&inner.url, &protocols(&inner.protocols)) {
        Ok(socket) => socket,
        Err(e) => {
            warn(&format!("cannot open relay {}: {e:?}", inner.url));
            return;
        }
    };
    socket.set_binary_type(BinaryType::Arraybuffer);
    let weak = Rc::downgrade(inner);
    let on_open = Handler::new(move |_| {
        if let Some(inner) = weak.upgrade() {
            inner.failures.set(0);
            deliver(&inner, SocketEvent::Open);
        }
    });
    let weak = Rc::downgrade(inner);
    let on_message = Handler::new(move |event: JsValue| {
        let data = event.unchecked_into::<MessageEvent>().data();
        let Some(inner) = weak.upgrade() else { return };
        // Sizes are checked before anything is copied into Wasm memory, which never shrinks.
        if let Some(text) = data.dyn_ref::<js_sys::JsString>() {
            if text.length() as usize > MAX_MESSAGE_LEN {
                return warn(&format!("relay {} sent an oversized message; dropped", inner.url));
            }
            deliver(&inner, SocketEvent::Message(text.into()));
        } else if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
            if buffer.byte_length() as usize > MAX_MESSAGE_LEN {
                return warn(&format!("relay {} sent an oversized message; dropped", inner.url));
            }
            deliver(&inner, SocketEvent::Binary(js_sys::Uint8Array::new(buffer).to_vec()));
        }
    });
    let weak = Rc::downgrade(inner);
    let on_close = Handler::new(move |_| schedule_reconnect(&weak));
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    *inner.live.borrow_mut() = Some(Live { socket, _handlers: [on_open, on_message, on_close] });
}

/// The connection an event arrived on, for answering on it.
pub struct Reply(WebSocket);

impl Reply {
    /// Sends `bytes` as one binary message.
    pub fn send_bytes(&self, bytes: &[u8]) {
        let _ = self.0.send_with_u8_array(bytes);
    }

    /// Sends `text` as one text message.
    pub fn send_text(&self, text: &str) {
        let _ = self.0.send_with_str(text);
    }
}

fn deliver(inner: &Rc<Inner>, event: SocketEvent) {
    let Some(socket) = inner.live.borrow().as_ref().map(|l| l.socket.clone()) else { return };
    if let Err(reason) = (inner.on_event)(&Reply(socket), event) {
        warn(&format!("relay {}: {reason}; reconnecting", inner.url));
        inner.live.borrow_mut().take();
        schedule_reconnect(&Rc::downgrade(inner));
    }
}

fn protocols(list: &[String]) -> js_sys::Array {
    list.iter().map(|p| JsValue::from_str(p)).collect()
}

fn schedule_reconnect(weak: &Weak<Inner>) {
    let Some(inner) = weak.upgrade() else { return };
    if inner.closed.get() {
        return;
    }
    if PAUSED.with(Cell::get) {
        inner.live.borrow_mut().take();
        inner.waiting.set(true);
        return;
    }
    let failures = inner.failures.get();
    inner.failures.set(failures.saturating_add(1));
    let delay = backoff_delay(failures, js_sys::Math::random());
    let weak = weak.clone();
    *inner.retry.borrow_mut() = Some(Timeout::new(delay, move || {
        let Some(inner) = weak.upgrade() else { return };
        inner.live.borrow_mut().take();
        if PAUSED.with(Cell::get) {
            inner.waiting.set(true);
        } else if !inner.closed.get() {
            open(&inner);
        }
    }));
}
