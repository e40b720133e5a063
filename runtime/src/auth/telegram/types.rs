//! The data a validated Telegram Mini App `initData` carries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The fields of a validated `initData`, as described by Telegram's
/// [`WebAppInitData`](https://core.telegram.org/bots/webapps#webappinitdata).
///
/// Every field was covered by the `hash` check, so it can be trusted as coming from
/// Telegram. Fields Telegram may add later are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitData {
    /// Unique identifier of the Mini App session, needed to answer with
    /// `answerWebAppQuery`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_id: Option<String>,
    /// The user who opened the Mini App.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<WebAppUser>,
    /// The chat partner of the current user in the chat where the bot was opened
    /// through the attachment menu (private chats and secret chats only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<WebAppUser>,
    /// The chat where the bot was opened through the attachment menu (groups,
    /// supergroups and channels only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<WebAppChat>,
    /// Type of the chat from which the Mini App was opened: `sender`, `private`,
    /// `group`, `supergroup` or `channel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_type: Option<String>,
    /// Global identifier of the chat from which the Mini App was opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_instance: Option<String>,
    /// The `startattach` / `startapp` parameter of the link that opened the Mini App.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_param: Option<String>,
    /// Seconds after which a message can be sent with `answerWebAppQuery`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_send_after: Option<u64>,
    /// When the `initData` was issued, in seconds since the Unix epoch
    /// (see [`InitData::auth_time`]).
    pub auth_date: u64,
    /// The hex-encoded HMAC-SHA256 that was checked.
    pub hash: String,
    /// Telegram's Ed25519 signature for third-party validation. It is covered by the
    /// `hash` check, but not itself verified here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl InitData {
    /// [`InitData::auth_date`] as a [`SystemTime`].
    #[must_use]
    pub fn auth_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.auth_date)
    }
}

/// A Telegram user, as described by Telegram's
/// [`WebAppUser`](https://core.telegram.org/bots/webapps#webappuser).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebAppUser {
    /// Unique identifier of the user or bot.
    pub id: i64,
    /// `true` if this user is a bot (only present in [`InitData::receiver`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_bot: Option<bool>,
    /// First name of the user or bot.
    pub first_name: String,
    /// Last name of the user or bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Username of the user or bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// [IETF language tag](https://en.wikipedia.org/wiki/IETF_language_tag) of the
    /// user's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
    /// `true` if the user has Telegram Premium.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_premium: Option<bool>,
    /// `true` if the user added the bot to the attachment menu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_to_attachment_menu: Option<bool>,
    /// `true` if the user allowed the bot to message them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allows_write_to_pm: Option<bool>,
    /// URL of the user's profile photo (`.jpeg` or `.svg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
}

/// A Telegram chat, as described by Telegram's
/// [`WebAppChat`](https://core.telegram.org/bots/webapps#webappchat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebAppChat {
    /// Unique identifier of the chat.
    pub id: i64,
    /// Type of the chat: `group`, `supergroup` or `channel` (Telegram's `type`).
    #[serde(rename = "type")]
    pub chat_type: String,
    /// Title of the chat.
    pub title: String,
    /// Username of the chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// URL of the chat's photo (`.jpeg` or `.svg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
}
