//! The room's UDP sockets: one per local address, so each datagram's destination is known (str0m
//! matches it against our ICE candidates), each read on a task of its own.

use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Largest datagram read; WebRTC keeps packets under the path MTU.
const MAX_DATAGRAM: usize = 2048;
/// Socket buffer asked for each way (the system may grant less, e.g. Linux up to `rmem_max`):
/// the room's thread also writes files and hashes, and a data channel at full speed overflows the
/// usual 208 KiB receive buffer meanwhile, which costs SCTP retransmissions.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// A datagram that arrived: its bytes, who sent it, and which of our addresses it reached.
pub(crate) struct Datagram {
    pub data: Vec<u8>,
    pub source: SocketAddr,
    pub destination: SocketAddr,
}

/// Our sockets, by local address.
pub(crate) struct Sockets {
    sockets: Vec<Arc<UdpSocket>>,
}

impl Sockets {
    /// Binds one socket per usable interface address and starts reading them into `arrived`.
    pub async fn bind(arrived: mpsc::UnboundedSender<Datagram>) -> std::io::Result<Self> {
        let mut sockets = Vec::new();
        for ip in local_addresses()? {
            let Ok(socket) = bind(SocketAddr::new(ip, 0)) else { continue };
            let socket = Arc::new(socket);
            let destination = socket.local_addr()?;
            let reader = socket.clone();
            let arrived = arrived.clone();
            tokio::task::spawn_local(async move {
                let mut buf = vec![0; MAX_DATAGRAM];
                while let Ok((n, source)) = reader.recv_from(&mut buf).await {
                    let datagram = Datagram { data: buf[..n].to_vec(), source, destination };
                    if arrived.send(datagram).is_err() {
                        break;
                    }
                }
            });
            sockets.push(socket);
        }
        Ok(Self { sockets })
    }

    /// The addresses peers can reach us at (our host ICE candidates).
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.sockets.iter().filter_map(|s| s.local_addr().ok()).collect()
    }

    /// Sends `data` from our address `source` to `destination`; a datagram that cannot go now is
    /// dropped, as the network may drop it (ICE, DTLS and SCTP retransmit).
    pub fn send(&self, source: SocketAddr, destination: SocketAddr, data: &[u8]) {
        if let Some(socket) = self.sockets.iter().find(|s| s.local_addr().ok() == Some(source)) {
            socket.try_send_to(data, destination).ok();
        }
    }
}

/// A UDP socket on `address` with large buffers.
fn bind(address: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(address), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_recv_buffer_size(SOCKET_BUFFER).ok();
    socket.set_send_buffer_size(SOCKET_BUFFER).ok();
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    UdpSocket::from_std(socket.into())
}

/// The interface addresses worth offering: IPv4 ones, and IPv6 ones that are not link-local
/// (those need a scope peers cannot use). Loopback is kept, for peers on this machine.
fn local_addresses() -> std::io::Result<Vec<IpAddr>> {
    let addresses = if_addrs::get_if_addrs()?
        .into_iter()
        .map(|interface| interface.ip())
        .filter(|ip| match ip {
            IpAddr::V4(_) => true,
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        })
        .collect();
    Ok(addresses)
}
