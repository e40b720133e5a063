//! Connection ids.

use serde::{Deserialize, Serialize};
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The id of a connection: a short string, unique across the processes of a deployment.
///
/// Generated ids are a random per-process prefix and a counter, e.g. `"5f3a9c01e2b7-1a"`; an
/// authenticator may choose its own.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConnectionId(Arc<str>);

impl ConnectionId {
    /// A new id unique to this process and, with overwhelming probability, to every process.
    pub fn generate() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(1);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        ConnectionId(format!("{}-{count:x}", process_prefix()).into())
    }

    /// The id of a room subscription of the connection `parent`: `{parent}#{n}`. Messages that
    /// leave `parent` out leave its subscriptions out too.
    pub(crate) fn subscription_of(parent: &ConnectionId) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(1);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        ConnectionId(format!("{parent}#{count:x}").into())
    }

    /// The connection this id belongs to: itself, or the parent of a subscription.
    pub(crate) fn owner(&self) -> &str {
        self.0.split_once('#').map_or(&self.0, |(parent, _)| parent)
    }

    /// Whether it names a room subscription of a connection (not a client).
    pub(crate) fn is_subscription(&self) -> bool {
        self.owner() != self.as_str()
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 48 random bits per process, from the standard library's OS-seeded hasher keys.
pub(crate) fn process_prefix() -> &'static str {
    static PREFIX: OnceLock<String> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        if let Ok(elapsed) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            hasher.write_u128(elapsed.as_nanos());
        }
        format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
    })
}

impl From<String> for ConnectionId {
    fn from(id: String) -> Self {
        ConnectionId(id.into())
    }
}

impl From<&str> for ConnectionId {
    fn from(id: &str) -> Self {
        ConnectionId(id.into())
    }
}

impl AsRef<str> for ConnectionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ConnectionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_distinct_and_share_the_process_prefix() {
        let a = ConnectionId::generate();
        let b = ConnectionId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().split('-').next(), b.as_str().split('-').next());
        assert_eq!(a.as_str().split('-').next().map(str::len), Some(12));
    }
}
