//! One relay connection: a WebSocket (TLS through rustls for `wss://`) read and written on a
//! task of its own, reporting to the room's thread.

use futures_util::{SinkExt, StreamExt};
use rendez_core::room::MAX_RELAY_MESSAGE_LEN;
use rendez_core::strategy::{RelayData, RelayId};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// Largest message read off a relay: above the room's own limit
/// ([`rendez_core::room::MAX_RELAY_MESSAGE_LEN`]), which the driver applies and reports, so a
/// message the room refuses does not cost the connection; only larger ones close it.
const READ_LIMIT: usize = 4 * MAX_RELAY_MESSAGE_LEN as usize;
/// How long the connection and its handshakes (TCP, TLS, WebSocket) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a relay connection reports, with the generation of the connection (a relay reopened
/// after a close is a new generation; reports of older ones are stale).
pub(crate) struct RelayReport {
    pub relay: RelayId,
    pub generation: u64,
    pub kind: RelayReportKind,
}

pub(crate) enum RelayReportKind {
    Opened,
    Message(RelayData),
    Closed(Option<String>),
}

/// The room's end of a relay connection: dropping it closes the connection.
pub(crate) struct RelaySocket {
    outgoing: mpsc::UnboundedSender<RelayData>,
    pub generation: u64,
}

impl RelaySocket {
    /// Starts connecting to `url`, offering `protocols`; the socket and the task that runs it
    /// (which ends once the socket is dropped and what was sent before has gone, or the relay
    /// closed).
    pub fn open(
        url: String,
        protocols: &'static [&'static str],
        relay: RelayId,
        generation: u64,
        reports: mpsc::UnboundedSender<RelayReport>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (outgoing, rx) = mpsc::unbounded_channel();
        let task = tokio::task::spawn_local(async move {
            let report = |kind| reports.send(RelayReport { relay, generation, kind }).ok();
            let reason = run(&url, protocols, rx, &report).await;
            report(RelayReportKind::Closed(reason));
        });
        (Self { outgoing, generation }, task)
    }

    /// Sends one message on the open connection.
    pub fn send(&self, data: RelayData) {
        self.outgoing.send(data).ok();
    }
}

/// Connects, then carries messages both ways until either side closes; why it closed, if known.
async fn run(
    url: &str,
    protocols: &[&str],
    mut outgoing: mpsc::UnboundedReceiver<RelayData>,
    report: &impl Fn(RelayReportKind) -> Option<()>,
) -> Option<String> {
    let mut request = match url.into_client_request() {
        Ok(request) => request,
        Err(e) => return Some(format!("cannot connect: {e}")),
    };
    if !protocols.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&protocols.join(", ")) {
            request.headers_mut().insert("Sec-WebSocket-Protocol", value);
        }
    }
    let config = WebSocketConfig::default().max_message_size(Some(READ_LIMIT)).max_frame_size(Some(READ_LIMIT));
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), false);
    let (socket, _) = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok(connected)) => connected,
        Ok(Err(e)) => return Some(format!("cannot connect: {e}")),
        Err(_) => return Some(format!("cannot connect: no answer within {} s", CONNECT_TIMEOUT.as_secs())),
    };
    report(RelayReportKind::Opened);
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => { report(RelayReportKind::Message(RelayData::Text(text.as_str().to_owned()))); }
                Some(Ok(Message::Binary(bytes))) => { report(RelayReportKind::Message(RelayData::Binary(bytes.to_vec()))); }
                Some(Ok(Message::Close(frame))) => return frame.map(|f| format!("closed by the relay ({}{})", u16::from(f.code), if f.reason.is_empty() { String::new() } else { format!(": {}", f.reason) })),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Some(e.to_string()),
                None => return None,
            },
            data = outgoing.recv() => {
                let Some(data) = data else {
                    sink.close().await.ok();
                    return None;
                };
                let message = match data {
                    RelayData::Text(text) => Message::text(text),
                    RelayData::Binary(bytes) => Message::binary(bytes),
                };
                if let Err(e) = sink.send(message).await {
                    return Some(e.to_string());
                }
            }
        }
    }
}
