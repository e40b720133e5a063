//! Telegram as the server's authenticator, and its user as a handler argument.

use super::{InitData, TelegramAuth, WebAppUser};
use crate::auth::{Admission, Authenticator, HandshakeRejection};
use crate::context::Context;
use crate::extract::{FromContext, Rejection};
use crate::handshake::HandshakeRequest;

/// Reads `initData` from the `initData` query parameter or an `Authorization: tma <initData>`
/// header, validates it and admits the connection with the [`InitData`] as its user.
/// Missing `initData` is refused with 401 (unless [`TelegramAuth::allow_anonymous`]); invalid,
/// tampered or stale `initData` always is.
impl Authenticator for TelegramAuth {
    async fn authenticate(
        &self,
        request: &HandshakeRequest,
    ) -> Result<Admission, HandshakeRejection> {
        let from_header = request
            .header("authorization")
            .and_then(TelegramAuth::init_data_from_authorization)
            .map(str::to_owned);
        let init_data =
            from_header.or_else(|| request.query().and_then(TelegramAuth::init_data_from_query));
        let Some(init_data) = init_data else {
            if self.allow_anonymous {
                return Ok(Admission::anonymous());
            }
            return Err(HandshakeRejection::unauthorized(
                "missing Telegram initData: send it as the `initData` query parameter or an \
                 `Authorization: tma <initData>` header",
            ));
        };
        match self.validate(&init_data) {
            Ok(data) => Ok(Admission::user(data)),
            Err(error) => Err(HandshakeRejection::unauthorized(format!(
                "invalid Telegram initData: {error}"
            ))),
        }
    }
}

/// The validated `initData` of the connection.
impl FromContext for InitData {
    async fn from_context(context: &Context) -> Result<Self, Rejection> {
        context
            .connection()
            .user::<InitData>()
            .cloned()
            .ok_or_else(|| {
                Rejection::unauthorized(
                    "this message needs a Telegram user: connect with valid Mini App initData",
                )
            })
    }
}

/// The Telegram user of the connection: `unauthorized` on a connection without one (or whose
/// `initData` names no user). Take `Option<WebAppUser>` to serve anonymous connections too.
impl FromContext for WebAppUser {
    async fn from_context(context: &Context) -> Result<Self, Rejection> {
        context
            .connection()
            .user::<InitData>()
            .and_then(|data| data.user.clone())
            .ok_or_else(|| {
                Rejection::unauthorized(
                    "this message needs a Telegram user: connect with valid Mini App initData",
                )
            })
    }
}
