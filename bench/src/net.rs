//! Connecting clients, and what every server binary does at start.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

/// A client WebSocket over plain TCP.
pub type Ws = WebSocketStream<TcpStream>;

/// Raises this process's open-file limit to its hard limit; returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            eprintln!("cannot raise the open-file limit: {error}");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft)
        }
    }
}

/// Prints the line the runner waits for: `listening on ws://ADDR`.
pub fn announce(addr: SocketAddr) {
    use std::io::Write;
    println!("listening on ws://{addr}");
    let _ = io::stdout().flush();
}

/// The `host:port` of a `ws://host:port/...` URL.
pub fn host_port(url: &str) -> io::Result<SocketAddr> {
    let rest = url.strip_prefix("ws://").ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the URL must start with ws://")
    })?;
    let authority = rest.split('/').next().unwrap_or(rest);
    authority.parse().map_err(|error| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{authority}: {error}"))
    })
}

/// The `index`-th of `sources` loopback source addresses: 127.0.0.2, 127.0.0.3, ...
/// (`sources` 0: no explicit source address).
pub fn source_address(index: usize, sources: usize) -> Option<IpAddr> {
    if sources == 0 {
        return None;
    }
    let n = (index % sources) as u32 + 2;
    Some(IpAddr::V4(Ipv4Addr::from(
        u32::from(Ipv4Addr::new(127, 0, 0, 0)) + n,
    )))
}

/// How to open one client connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectOptions {
    /// Bind to this source address before connecting (to spread connections over several
    /// loopback addresses, each with its own ephemeral ports).
    pub source: Option<IpAddr>,
    /// The socket's receive buffer (`SO_RCVBUF`), for clients that stop reading.
    pub recv_buffer: Option<u32>,
}

/// Opens a WebSocket to `url` (`ws://host:port/path`), with `TCP_NODELAY`.
pub async fn connect(url: &str, options: ConnectOptions) -> io::Result<Ws> {
    let addr = host_port(url)?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(bytes) = options.recv_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    if let Some(source) = options.source {
        socket.bind(SocketAddr::new(source, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(16 * 1024);
    let (ws, _response) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map_err(io::Error::other)?;
    Ok(ws)
}
