//! Why a Telegram Mini App `initData` was refused.

use std::time::Duration;

/// Why [`TelegramAuth`](super::TelegramAuth) refused an `initData`.
///
/// Messages say what is wrong and what to do about it. They never contain the bot
/// token nor the key derived from it, so they can be logged; they may quote parts of
/// the (untrusted) `initData`, escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TelegramAuthError {
    /// No `initData` was given, or it was empty.
    #[error(
        "no Telegram initData was sent: the client must send Telegram.WebApp.initData, \
         as an `Authorization: tma <initData>` header or as the `initData` query parameter"
    )]
    Missing,

    /// The `initData` is not a URL-encoded query string of `key=value` pairs.
    #[error(
        "Telegram initData is malformed ({0}): the client must send Telegram.WebApp.initData \
         exactly as it got it"
    )]
    Malformed(String),

    /// The same key appears more than once (after URL-decoding).
    #[error(
        "Telegram initData has the key {key:?} more than once: the client must send \
         Telegram.WebApp.initData exactly as it got it"
    )]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },

    /// The `hash` field is missing.
    #[error(
        "Telegram initData has no `hash` field: the client must send Telegram.WebApp.initData \
         (not initDataUnsafe) exactly as it got it"
    )]
    MissingHash,

    /// The `hash` field is not 64 hexadecimal digits.
    #[error(
        "the `hash` of Telegram initData is not 64 hexadecimal digits: the client must send \
         Telegram.WebApp.initData exactly as it got it"
    )]
    MalformedHash,

    /// The `hash` does not match the other fields: the data was altered, or it was
    /// signed for another bot.
    #[error(
        "Telegram initData failed its hash check: it was altered, or it was issued for another \
         bot; check that the server is configured with the token of the bot that opens this \
         Mini App"
    )]
    BadHash,

    /// The `auth_date` field is missing.
    #[error("Telegram initData has no `auth_date` field, so its age cannot be checked")]
    MissingAuthDate,

    /// The `initData` was issued longer ago than the configured maximum age.
    #[error(
        "Telegram initData expired: it was issued {} s ago and at most {} s are accepted; \
         reopen the Mini App to get fresh initData",
        .age.as_secs(),
        .max_age.as_secs()
    )]
    Expired {
        /// How long ago the `initData` was issued.
        age: Duration,
        /// The configured maximum age.
        max_age: Duration,
    },

    /// The `auth_date` is further in the future than the configured clock skew allows.
    #[error(
        "Telegram initData was issued {} s in the future, more than the {} s of clock skew \
         accepted; check the server's clock",
        .ahead.as_secs(),
        .clock_skew.as_secs()
    )]
    FromFuture {
        /// How far in the future the `auth_date` is.
        ahead: Duration,
        /// The configured clock skew tolerance.
        clock_skew: Duration,
    },

    /// A field passed the hash check but could not be parsed (bad JSON in `user`,
    /// `receiver` or `chat`, or a non-numeric `auth_date` or `can_send_after`).
    #[error("the `{field}` field of Telegram initData is invalid: {reason}")]
    InvalidField {
        /// The name of the field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// The server was configured with an empty bot token, so every `initData` is
    /// refused rather than accepting data anyone could sign.
    #[error(
        "the server's Telegram bot token is empty, so no initData can be trusted: configure \
         the token BotFather gave for the bot that opens this Mini App"
    )]
    EmptyBotToken,
}
