//! A TCP proxy in front of a test server, whose connections a test can cut (no close frame:
//! the sockets just go) and which can refuse new ones for a while.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A proxy on a free port of 127.0.0.1 to `upstream`.
pub(crate) struct Proxy {
    pub addr: SocketAddr,
    refusing: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub(crate) async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the proxy binds");
        let addr = listener.local_addr().expect("the proxy's address");
        let refusing = Arc::new(AtomicBool::new(false));
        let pipes: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let refusing = refusing.clone();
            let pipes = pipes.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if refusing.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let pipe = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    pipes.lock().unwrap_or_else(|p| p.into_inner()).push(pipe);
                }
            }
        });
        Proxy {
            addr,
            refusing,
            pipes,
            accept,
        }
    }

    /// `ws://IP:PORT` of the proxy.
    pub(crate) fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Cuts every open connection (both sockets dropped, no close frame) and refuses new ones
    /// until [`accept`](Proxy::accept).
    pub(crate) fn cut(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        for pipe in self
            .pipes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            pipe.abort();
        }
    }

    /// Accepts connections again.
    pub(crate) fn accept(&self) {
        self.refusing.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
