//! Extension points for servers built inside the crate (the gateway): where text frames no
//! handler claims go, and who answers plain HTTP `POST` requests.

use crate::context::Context;
use crate::handshake::HandshakeRequest;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

type FallbackFn = dyn Fn(Context, Utf8Bytes) -> BoxFuture<'static, ()> + Send + Sync;
type PostFn = dyn Fn(HandshakeRequest, Vec<u8>) -> BoxFuture<'static, (u16, String)> + Send + Sync;

/// Receives every text frame that is not an envelope of a registered handler's `Type`. The
/// connection's reading waits for it: a slow fallback applies backpressure to its client.
#[derive(Clone)]
pub(crate) struct Fallback(Arc<FallbackFn>);

impl Fallback {
    #[cfg_attr(not(feature = "gateway"), allow(dead_code))]
    pub(crate) fn new<F>(fallback: F) -> Self
    where
        F: Fn(Context, Utf8Bytes) -> BoxFuture<'static, ()> + Send + Sync + 'static,
    {
        Fallback(Arc::new(fallback))
    }

    pub(crate) async fn call(&self, context: Context, text: Utf8Bytes) {
        (self.0)(context, text).await;
    }
}

impl std::fmt::Debug for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fallback")
    }
}

/// Answers plain HTTP `POST` requests (not upgrades) on the server's port with a status and
/// a plain-text body. The body it gets was read whole, within the server's message size.
#[derive(Clone)]
pub(crate) struct PostHandler(Arc<PostFn>);

impl PostHandler {
    #[cfg_attr(not(feature = "gateway"), allow(dead_code))]
    pub(crate) fn new<F>(handler: F) -> Self
    where
        F: Fn(HandshakeRequest, Vec<u8>) -> BoxFuture<'static, (u16, String)>
            + Send
            + Sync
            + 'static,
    {
        PostHandler(Arc::new(handler))
    }

    pub(crate) async fn call(&self, request: HandshakeRequest, body: Vec<u8>) -> (u16, String) {
        (self.0)(request, body).await
    }
}

impl std::fmt::Debug for PostHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostHandler")
    }
}
