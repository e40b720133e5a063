//! The authenticator trait and its type-erased form the server keeps.

use super::{Admission, HandshakeRejection};
use crate::handshake::HandshakeRequest;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Decides, from the HTTP upgrade request, whether a client may connect and who it is.
///
/// Implemented for [`TelegramAuth`](super::telegram::TelegramAuth) and for async closures
/// taking the request:
///
/// ```
/// use exws::auth::{Admission, HandshakeRejection};
/// use exws::{HandshakeRequest, Server};
///
/// #[derive(Clone)]
/// struct Account { name: String }
///
/// let server = Server::new().authenticator(|request: HandshakeRequest| async move {
///     match request.header("authorization") {
///         Some("Bearer secret-token") => Ok(Admission::user(Account { name: "ada".into() })),
///         Some(_) => Err(HandshakeRejection::forbidden("unknown token")),
///         None => Err(HandshakeRejection::unauthorized("send `Authorization: Bearer <token>`")),
///     }
/// });
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// Admits or refuses the handshake.
    fn authenticate(
        &self,
        request: &HandshakeRequest,
    ) -> impl Future<Output = Result<Admission, HandshakeRejection>> + Send;
}

impl<F, Fut> Authenticator for F
where
    F: Fn(HandshakeRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Admission, HandshakeRejection>> + Send,
{
    fn authenticate(
        &self,
        request: &HandshakeRequest,
    ) -> impl Future<Output = Result<Admission, HandshakeRejection>> + Send {
        self(request.clone())
    }
}

type AuthFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Admission, HandshakeRejection>> + Send + 'a>>;

/// An authenticator as the server stores it.
trait ErasedAuthenticator: Send + Sync {
    fn authenticate<'a>(&'a self, request: &'a HandshakeRequest) -> AuthFuture<'a>;
}

impl<A: Authenticator> ErasedAuthenticator for A {
    fn authenticate<'a>(&'a self, request: &'a HandshakeRequest) -> AuthFuture<'a> {
        Box::pin(Authenticator::authenticate(self, request))
    }
}

/// A shared, type-erased authenticator.
#[derive(Clone)]
pub(crate) struct SharedAuthenticator(Arc<dyn ErasedAuthenticator>);

impl SharedAuthenticator {
    pub(crate) fn new(authenticator: impl Authenticator) -> Self {
        SharedAuthenticator(Arc::new(authenticator))
    }

    pub(crate) async fn authenticate(
        &self,
        request: &HandshakeRequest,
    ) -> Result<Admission, HandshakeRejection> {
        self.0.authenticate(request).await
    }
}

impl std::fmt::Debug for SharedAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authenticator")
    }
}
