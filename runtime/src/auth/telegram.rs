//! Authentication of Telegram Mini App users by their `initData`.
//!
//! A [Telegram Mini App](https://core.telegram.org/bots/webapps) gets
//! `Telegram.WebApp.initData` from Telegram: a URL-encoded query string that names the
//! user and is signed with the bot's token. The client sends it to the server, usually as
//! an `Authorization: tma <initData>` header or as the `initData` query parameter of the
//! WebSocket URL, and [`TelegramAuth`] checks it as Telegram's docs describe in
//! [Validating data received via the Mini App](https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
//!
//! 1. the data-check-string is every received field but `hash`, as `key=value` with the
//!    URL-decoded value, sorted by key and joined with `\n` (`signature` is included);
//! 2. `secret_key = HMAC-SHA256(key = "WebAppData", message = bot_token)`;
//! 3. the `hash` field must equal `hex(HMAC-SHA256(key = secret_key, message =
//!    data_check_string))`, compared in constant time;
//! 4. `auth_date` must be at most [`TelegramAuth::max_age`] old (24 hours by default)
//!    and at most [`TelegramAuth::clock_skew`] in the future (60 s by default).
//!
//! Only the bot's own token can validate its `initData`. Telegram's Ed25519 `signature`
//! (third-party validation without the token) is kept in [`InitData::signature`] but not
//! verified here.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use exws::auth::telegram::{sign_init_data, TelegramAuth, TelegramAuthError};
//!
//! // What Telegram gives the Mini App (built here with the testing helper).
//! let init_data = sign_init_data(
//!     "123456:ABC-bot-token",
//!     &[
//!         ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc"),
//!         ("user", r#"{"id":42,"first_name":"Ada","username":"ada"}"#),
//!         ("auth_date", "1700000000"),
//!     ],
//! );
//!
//! let auth = TelegramAuth::new("123456:ABC-bot-token").max_age(Duration::from_secs(3600));
//! let issued = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//!
//! let data = auth.validate_at(&init_data, issued + Duration::from_secs(60))?;
//! let user = data.user.expect("this initData names a user");
//! assert_eq!((user.id, user.first_name.as_str()), (42, "Ada"));
//!
//! // Two hours later it is too old; another bot's token never matches.
//! let later = issued + Duration::from_secs(2 * 3600);
//! assert!(matches!(auth.validate_at(&init_data, later), Err(TelegramAuthError::Expired { .. })));
//! let other_bot = TelegramAuth::new("654321:another-bot-token");
//! assert_eq!(other_bot.validate_at(&init_data, issued), Err(TelegramAuthError::BadHash));
//!
//! // `validate` checks the age against the current time.
//! assert!(auth.validate(&init_data).is_err());
//! # Ok::<(), TelegramAuthError>(())
//! ```

mod error;
mod extract;
mod types;

use std::collections::btree_map::{BTreeMap, Entry};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub use self::error::TelegramAuthError;
pub use self::types::{InitData, WebAppChat, WebAppUser};

type HmacSha256 = Hmac<Sha256>;

/// The default [`TelegramAuth::max_age`]: 24 hours.
///
/// Telegram issues `initData` when the Mini App opens and does not refresh it while it
/// stays open, so a shorter age makes a Mini App that was left open fail to reconnect
/// until the user reopens it. 24 hours is the common choice of Telegram libraries; lower
/// it when a leaked `initData` must stop working sooner.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The default [`TelegramAuth::clock_skew`]: 60 seconds.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// The longest `initData` accepted, in bytes: 64 KiB.
///
/// Real `initData` is well under 4 KiB; longer input is refused as
/// [`TelegramAuthError::Malformed`] before any work is done on it.
pub const MAX_INIT_DATA_LEN: usize = 64 * 1024;

/// Validates Telegram Mini App `initData` for one bot.
///
/// It keeps only the key derived from the bot token, and its [`Debug`](fmt::Debug) output
/// shows neither. Build it once and share it: validating takes `&self`, and it is cheap to
/// clone.
#[derive(Clone)]
pub struct TelegramAuth {
    /// HMAC-SHA256 keyed with `HMAC-SHA256("WebAppData", bot_token)`, or `None` when the
    /// token was empty (every validation then fails closed).
    mac: Option<HmacSha256>,
    max_age: Duration,
    clock_skew: Duration,
    /// As an [`Authenticator`](crate::auth::Authenticator): admit clients without `initData`.
    allow_anonymous: bool,
}

impl fmt::Debug for TelegramAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramAuth")
            .field(
                "bot_token",
                &if self.mac.is_some() {
                    "<redacted>"
                } else {
                    "<empty>"
                },
            )
            .field("max_age", &self.max_age)
            .field("clock_skew", &self.clock_skew)
            .field("allow_anonymous", &self.allow_anonymous)
            .finish()
    }
}

impl TelegramAuth {
    /// Validates `initData` signed for the bot with this token (as `@BotFather` gave it;
    /// surrounding whitespace is ignored), with [`DEFAULT_MAX_AGE`] and
    /// [`DEFAULT_CLOCK_SKEW`].
    ///
    /// It never panics: with an empty token, every validation fails with
    /// [`TelegramAuthError::EmptyBotToken`]. Use [`TelegramAuth::try_new`] to refuse an
    /// empty token at startup instead.
    #[must_use]
    pub fn new(bot_token: impl AsRef<str>) -> Self {
        let token = bot_token.as_ref().trim();
        Self {
            mac: (!token.is_empty()).then(|| keyed_mac(token)),
            max_age: DEFAULT_MAX_AGE,
            clock_skew: DEFAULT_CLOCK_SKEW,
            allow_anonymous: false,
        }
    }

    /// Like [`TelegramAuth::new`], but refuses an empty token.
    ///
    /// # Errors
    ///
    /// [`TelegramAuthError::EmptyBotToken`] when the token is empty or only whitespace.
    pub fn try_new(bot_token: impl AsRef<str>) -> Result<Self, TelegramAuthError> {
        let auth = Self::new(bot_token);
        match auth.mac {
            Some(_) => Ok(auth),
            None => Err(TelegramAuthError::EmptyBotToken),
        }
    }

    /// Sets how old an `initData` may be (measured from its `auth_date`) before it is
    /// refused as [`TelegramAuthError::Expired`]. Defaults to [`DEFAULT_MAX_AGE`].
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Sets how far in the future an `auth_date` may be, to tolerate a server clock that
    /// runs behind Telegram's, before it is refused as [`TelegramAuthError::FromFuture`].
    /// Defaults to [`DEFAULT_CLOCK_SKEW`].
    #[must_use]
    pub fn clock_skew(mut self, clock_skew: Duration) -> Self {
        self.clock_skew = clock_skew;
        self
    }

    /// As the server's [`Authenticator`](crate::auth::Authenticator), also admit clients that
    /// send no `initData` at all, as anonymous connections (handlers taking `WebAppUser`
    /// answer them `unauthorized`; `Option<WebAppUser>` is `None`). Invalid or stale
    /// `initData` is still refused with 401. Off by default.
    #[must_use]
    pub fn allow_anonymous(mut self) -> Self {
        self.allow_anonymous = true;
        self
    }

    /// Validates `init_data` (the raw, URL-encoded `Telegram.WebApp.initData`) against
    /// the current time.
    ///
    /// # Errors
    ///
    /// As [`TelegramAuth::validate_at`].
    pub fn validate(&self, init_data: &str) -> Result<InitData, TelegramAuthError> {
        self.validate_at(init_data, SystemTime::now())
    }

    /// Validates `init_data` (the raw, URL-encoded `Telegram.WebApp.initData`) as if
    /// the current time were `now`, and returns its fields.
    ///
    /// Checks, in order: that it is a well-formed query string without repeated keys
    /// and with a `hash`; that the hash matches; that `auth_date` is neither too old nor
    /// in the future; and that `user`, `receiver`, `chat` and `can_send_after` parse.
    /// Fields it does not know are covered by the hash but otherwise ignored.
    ///
    /// # Errors
    ///
    /// The first failed check, as a [`TelegramAuthError`]; only those after the hash
    /// check (`MissingAuthDate`, `Expired`, `FromFuture`, `InvalidField`) concern data
    /// that really came from Telegram.
    pub fn validate_at(
        &self,
        init_data: &str,
        now: SystemTime,
    ) -> Result<InitData, TelegramAuthError> {
        let mac = self.mac.as_ref().ok_or(TelegramAuthError::EmptyBotToken)?;
        let mut fields = parse_fields(init_data)?;

        // Authenticate everything before looking at any other field.
        let hash = fields
            .remove("hash")
            .ok_or(TelegramAuthError::MissingHash)?;
        let mut received = [0u8; 32];
        hex::decode_to_slice(&hash, &mut received).map_err(|_| TelegramAuthError::MalformedHash)?;
        let check_string = data_check_string(
            fields
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str())),
        );
        let expected = mac
            .clone()
            .chain_update(check_string)
            .finalize()
            .into_bytes();
        if !bool::from(expected.as_slice().ct_eq(&received)) {
            return Err(TelegramAuthError::BadHash);
        }

        let auth_date = fields
            .get("auth_date")
            .ok_or(TelegramAuthError::MissingAuthDate)?;
        let auth_date = parse_seconds("auth_date", auth_date)?;
        self.check_age(auth_date, now)?;

        Ok(InitData {
            query_id: fields.remove("query_id"),
            user: parse_json("user", fields.get("user"))?,
            receiver: parse_json("receiver", fields.get("receiver"))?,
            chat: parse_json("chat", fields.get("chat"))?,
            chat_type: fields.remove("chat_type"),
            chat_instance: fields.remove("chat_instance"),
            start_param: fields.remove("start_param"),
            can_send_after: fields
                .get("can_send_after")
                .map(|value| parse_seconds("can_send_after", value))
                .transpose()?,
            auth_date,
            hash,
            signature: fields.remove("signature"),
        })
    }

    fn check_age(&self, auth_date: u64, now: SystemTime) -> Result<(), TelegramAuthError> {
        let issued = Duration::from_secs(auth_date);
        // A clock before 1970 makes every auth_date look like it is in the future.
        let now = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        match now.checked_sub(issued) {
            Some(age) if age > self.max_age => Err(TelegramAuthError::Expired {
                age,
                max_age: self.max_age,
            }),
            Some(_) => Ok(()),
            None => {
                let ahead = issued.saturating_sub(now);
                if ahead > self.clock_skew {
                    Err(TelegramAuthError::FromFuture {
                        ahead,
                        clock_skew: self.clock_skew,
                    })
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Returns the URL-decoded value of the `initData` parameter of a URI query string
    /// (with or without its leading `?`), to be passed to [`TelegramAuth::validate`].
    ///
    /// The client must URL-encode the whole `initData` for this (JavaScript:
    /// `"?initData=" + encodeURIComponent(Telegram.WebApp.initData)`). Returns `None`
    /// when the parameter is absent, empty, or given more than once.
    ///
    /// ```
    /// # use exws::auth::telegram::TelegramAuth;
    /// let query = "v=1&initData=auth_date%3D1700000000%26hash%3Dab12";
    /// assert_eq!(
    ///     TelegramAuth::init_data_from_query(query).as_deref(),
    ///     Some("auth_date=1700000000&hash=ab12"),
    /// );
    /// ```
    #[must_use]
    pub fn init_data_from_query(query: &str) -> Option<String> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut found = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if key == "initData" && found.replace(value).is_some() {
                return None;
            }
        }
        found
            .filter(|value| !value.is_empty())
            .map(std::borrow::Cow::into_owned)
    }

    /// Returns the `initData` of an `Authorization: tma <initData>` header value, to be
    /// passed to [`TelegramAuth::validate`] as it is.
    ///
    /// The scheme `tma` is matched case-insensitively. Returns `None` for another
    /// scheme or an empty `initData`.
    ///
    /// ```
    /// # use exws::auth::telegram::TelegramAuth;
    /// let header = "tma auth_date=1700000000&hash=ab12";
    /// assert_eq!(
    ///     TelegramAuth::init_data_from_authorization(header),
    ///     Some("auth_date=1700000000&hash=ab12"),
    /// );
    /// assert_eq!(TelegramAuth::init_data_from_authorization("Bearer abc"), None);
    /// ```
    #[must_use]
    pub fn init_data_from_authorization(header_value: &str) -> Option<&str> {
        let (scheme, init_data) = header_value.trim().split_once([' ', '\t'])?;
        let init_data = init_data.trim();
        (scheme.eq_ignore_ascii_case("tma") && !init_data.is_empty()).then_some(init_data)
    }
}

/// Builds a URL-encoded `initData` of `pairs`, in their order, followed by the `hash`
/// that Telegram would compute for them with `bot_token` — a testing helper.
///
/// It does what Telegram does when it hands `initData` to a Mini App, so tests and
/// local clients can produce `initData` that [`TelegramAuth`] accepts without Telegram.
/// Values are given decoded (JSON for `user`, `receiver` and `chat`; Unix seconds for
/// `auth_date`); a `hash` pair in `pairs` is ignored. Repeating a key yields `initData`
/// that is refused as [`TelegramAuthError::DuplicateKey`].
///
/// ```
/// use exws::auth::telegram::{sign_init_data, TelegramAuth};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let init_data = sign_init_data("123:token", &[("auth_date", "1700000000"), ("start_param", "a b")]);
/// assert!(init_data.starts_with("auth_date=1700000000&start_param=a+b&hash="));
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let data = TelegramAuth::new("123:token").validate_at(&init_data, now).unwrap();
/// assert_eq!(data.start_param.as_deref(), Some("a b"));
/// ```
#[must_use]
pub fn sign_init_data(bot_token: impl AsRef<str>, pairs: &[(&str, &str)]) -> String {
    let mut signed: Vec<(&str, &str)> = pairs
        .iter()
        .copied()
        .filter(|&(key, _)| key != "hash")
        .collect();
    let mut sorted = signed.clone();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let hash = keyed_mac(bot_token.as_ref().trim())
        .chain_update(data_check_string(sorted))
        .finalize()
        .into_bytes();
    let hash = hex::encode(hash);
    signed.push(("hash", &hash));
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(signed)
        .finish()
}

/// `HMAC-SHA256` keyed with `secret_key = HMAC-SHA256(key = "WebAppData", message = token)`.
fn keyed_mac(bot_token: &str) -> HmacSha256 {
    // HMAC takes keys of any length (longer ones are hashed), so these cannot fail.
    let secret_key = HmacSha256::new_from_slice(b"WebAppData")
        .expect("HMAC accepts keys of any length")
        .chain_update(bot_token)
        .finalize()
        .into_bytes();
    HmacSha256::new_from_slice(&secret_key).expect("HMAC accepts keys of any length")
}

/// Joins `key=value` lines with `\n`; `pairs` must already be sorted by key.
fn data_check_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// URL-decodes `init_data` into its fields, sorted by key (byte order).
fn parse_fields(init_data: &str) -> Result<BTreeMap<String, String>, TelegramAuthError> {
    let init_data = init_data.trim();
    if init_data.is_empty() {
        return Err(TelegramAuthError::Missing);
    }
    if init_data.len() > MAX_INIT_DATA_LEN {
        return Err(TelegramAuthError::Malformed(format!(
            "it is {} bytes long, more than the {MAX_INIT_DATA_LEN} accepted",
            init_data.len()
        )));
    }
    let mut fields = BTreeMap::new();
    for segment in init_data.split('&').filter(|segment| !segment.is_empty()) {
        let decoded = segment
            .contains('=')
            .then(|| form_urlencoded::parse(segment.as_bytes()).next())
            .flatten();
        let Some((key, value)) = decoded else {
            return Err(TelegramAuthError::Malformed(
                "a part has no `=`: it must be `key=value` pairs joined with `&`".into(),
            ));
        };
        if key.is_empty() {
            return Err(TelegramAuthError::Malformed("a key is empty".into()));
        }
        match fields.entry(key.into_owned()) {
            Entry::Occupied(entry) => {
                return Err(TelegramAuthError::DuplicateKey {
                    key: entry.key().clone(),
                })
            }
            Entry::Vacant(entry) => {
                entry.insert(value.into_owned());
            }
        }
    }
    Ok(fields)
}

fn parse_seconds(field: &'static str, value: &str) -> Result<u64, TelegramAuthError> {
    // `u64::from_str` also accepts a leading `+`; Telegram only sends digits.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TelegramAuthError::InvalidField {
            field,
            reason: format!("{value:?} is not a number of seconds"),
        });
    }
    value
        .parse()
        .map_err(|error| TelegramAuthError::InvalidField {
            field,
            reason: format!("{value:?} is not a number of seconds: {error}"),
        })
}

fn parse_json<T: serde::de::DeserializeOwned>(
    field: &'static str,
    value: Option<&String>,
) -> Result<Option<T>, TelegramAuthError> {
    value
        .map(|value| serde_json::from_str(value))
        .transpose()
        .map_err(|error| TelegramAuthError::InvalidField {
            field,
            reason: error.to_string(),
        })
}

#[cfg(test)]
mod tests;
