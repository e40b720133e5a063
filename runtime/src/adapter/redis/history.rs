//! Room history and session records in Redis.
//!
//! Keys (under the prefix):
//! - `hist:{room}`, a stream of the room's messages: entry id `0-{seq}`, fields `t` (the
//!   envelope) and `ms` (Redis's time when it was added);
//! - `hmeta:{room}`, a hash: `epoch` (the history's epoch, created with the first message or
//!   the first join of a recoverable connection) and `seq` (the newest message's sequence
//!   number);
//! - `session:{id}:{token}`, a disconnected (or open) session's record, with a TTL.
//!
//! A message is appended, trimmed to the limits and published by one script, so every process
//! receives a room's recorded messages in the order of their sequence numbers. The stream is
//! trimmed by count (`MAXLEN`, exact): at most `max_messages`, and at most `max_bytes`
//! divided by the size of the message being added (so the byte bound holds for messages of
//! similar sizes); messages older than `max_age` are skipped by reads (they count as evicted)
//! and the keys expire once the room is idle. A Redis that
//! restarts without persistence loses both keys: the next message or join creates a new epoch,
//! and a client presenting the old epoch is told of the gap.

use super::adapter::Inner;
use super::recorder::Record;
use super::subscriber;
use crate::adapter::wire;
use crate::adapter::{
    AdapterError, HistoryEntry, HistoryLimits, HistoryPage, HistoryQuery, Outgoing, Position,
    Target,
};
use std::collections::HashMap;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Appends, trims and publishes: `KEYS` = meta, stream; `ARGV` = epoch candidate, max
/// messages, max bytes, max age (ms, unused here: reads skip older messages), key TTL (ms),
/// channel, payload header, text. The stream keeps at most `min(max messages, max bytes /
/// this message's size)` entries (`XADD ... MAXLEN`, exact). Returns `{epoch, seq}`.
pub(super) const APPEND: &str = r"
local meta, stream = KEYS[1], KEYS[2]
local text = ARGV[8]
redis.call('HSETNX', meta, 'epoch', ARGV[1])
local epoch = redis.call('HGET', meta, 'epoch')
local seq = redis.call('HINCRBY', meta, 'seq', 1)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keep = math.min(tonumber(ARGV[2]), math.max(1, math.floor(tonumber(ARGV[3]) / math.max(1, #text))))
redis.call('XADD', stream, 'MAXLEN', keep, '0-' .. seq, 't', text, 'ms', now)
redis.call('PEXPIRE', meta, ARGV[5])
redis.call('PEXPIRE', stream, ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[7] .. '\n' .. epoch .. ':' .. seq .. '\n' .. text)
return {epoch, seq}
";

/// Reads: `KEYS` = meta, stream; `ARGV` = epoch candidate, key TTL (ms), `since` or `last`,
/// the first id (`0-{seq + 1}`) or the count, the most entries. Returns `{epoch, seq, now,
/// entries}`.
const READ: &str = r"
local meta, stream = KEYS[1], KEYS[2]
redis.call('HSETNX', meta, 'epoch', ARGV[1])
redis.call('PEXPIRE', meta, ARGV[2])
local epoch = redis.call('HGET', meta, 'epoch')
local seq = tonumber(redis.call('HGET', meta, 'seq') or '0')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local entries
if ARGV[3] == 'since' then
  entries = redis.call('XRANGE', stream, ARGV[4], '+', 'COUNT', ARGV[5])
else
  entries = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', ARGV[4])
end
return {epoch, seq, now, entries}
";

/// The history scripts, loaded once per adapter.
#[derive(Clone)]
pub(super) struct HistoryScripts {
    pub(super) append: redis::Script,
    read: redis::Script,
}

impl HistoryScripts {
    pub(super) fn new() -> Self {
        HistoryScripts {
            append: redis::Script::new(APPEND),
            read: redis::Script::new(READ),
        }
    }
}

/// One stream entry as read: its id and fields.
type StreamEntry = (String, HashMap<String, Vec<u8>>);

/// How long history keys live without a message or a read: twice the age limit, and at
/// least 10 minutes (a room's epoch outlives its messages, so that a client away for less
/// learns it missed them rather than that the history was lost).
fn key_ttl(limits: &HistoryLimits) -> u64 {
    let ttl = (limits.max_age * 2).max(Duration::from_secs(600));
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)
}

impl Inner {
    fn history_keys(&self, room: &str) -> (String, String) {
        let prefix = &self.config.prefix;
        (
            format!("{prefix}:hmeta:{room}"),
            format!("{prefix}:hist:{room}"),
        )
    }

    fn session_key(&self, key: &str) -> String {
        format!("{}:session:{key}", self.config.prefix)
    }

    pub(super) async fn publish_recorded(
        &self,
        message: Outgoing,
        limits: &HistoryLimits,
    ) -> Result<bool, AdapterError> {
        let Target::Room(room) = &message.target else {
            return Ok(false);
        };
        let recorder = self.recorder.get().ok_or_else(|| {
            AdapterError::Unavailable("the Redis adapter has not started".to_owned())
        })?;
        let (meta, stream) = self.history_keys(room);
        let max_age = u64::try_from(limits.max_age.as_millis()).unwrap_or(u64::MAX);
        let args = vec![
            crate::recovery::random_token(8).into_bytes(),
            limits.max_messages.to_string().into_bytes(),
            limits.max_bytes.to_string().into_bytes(),
            max_age.to_string().into_bytes(),
            key_ttl(limits).to_string().into_bytes(),
            subscriber::room_channel(&self.config.prefix, room).into_bytes(),
            wire::recorded_header(&self.node, &message.except).into_bytes(),
            message.text.as_bytes().to_vec(),
        ];
        recorder
            .record(Record {
                keys: [meta, stream],
                args,
            })
            .await?;
        Ok(true)
    }

    pub(super) async fn history_read(
        &self,
        room: &str,
        query: HistoryQuery,
        limits: &HistoryLimits,
    ) -> Result<Option<HistoryPage>, AdapterError> {
        let mut commands = self.commands()?;
        let (meta, stream) = self.history_keys(room);
        let mut call = self.history_scripts.read.key(meta);
        call.key(stream)
            .arg(crate::recovery::random_token(8))
            .arg(key_ttl(limits));
        match query {
            HistoryQuery::Since(seq) => call
                .arg("since")
                .arg(format!("0-{}", seq.saturating_add(1)))
                .arg(limits.max_messages),
            HistoryQuery::Last(count) => call
                .arg("last")
                .arg(count.min(limits.max_messages).max(1))
                .arg(0),
        };
        let (epoch, seq, now, entries): (String, u64, u64, Vec<StreamEntry>) = call
            .invoke_async(&mut commands)
            .await
            .map_err(unavailable)?;
        let oldest =
            now.saturating_sub(u64::try_from(limits.max_age.as_millis()).unwrap_or(u64::MAX));
        let mut entries: Vec<HistoryEntry> = entries
            .into_iter()
            .filter_map(|(id, mut fields)| {
                let seq = id.strip_prefix("0-")?.parse::<u64>().ok()?;
                let at = fields
                    .get("ms")
                    .and_then(|ms| std::str::from_utf8(ms).ok()?.parse::<u64>().ok())?;
                let text = String::from_utf8(fields.remove("t")?).ok()?;
                (at >= oldest).then(|| HistoryEntry {
                    seq,
                    text: Utf8Bytes::from(text),
                })
            })
            .collect();
        if matches!(query, HistoryQuery::Last(0)) {
            entries.clear();
        }
        entries.sort_by_key(|entry| entry.seq);
        Ok(Some(HistoryPage {
            current: Position::new(epoch, seq),
            entries,
        }))
    }

    pub(super) async fn history_position(
        &self,
        room: &str,
        limits: &HistoryLimits,
    ) -> Result<Option<Position>, AdapterError> {
        let page = self
            .history_read(room, HistoryQuery::Last(0), limits)
            .await?;
        Ok(page.map(|page| page.current))
    }

    pub(super) async fn session_store(
        &self,
        key: &str,
        record: Vec<u8>,
        ttl: Duration,
    ) -> Result<bool, AdapterError> {
        let mut commands = self.commands()?;
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        redis::cmd("SET")
            .arg(self.session_key(key))
            .arg(record)
            .arg("PX")
            .arg(ttl)
            .query_async::<()>(&mut commands)
            .await
            .map_err(unavailable)?;
        Ok(true)
    }

    pub(super) async fn session_touch(
        &self,
        keys: &[String],
        ttl: Duration,
    ) -> Result<bool, AdapterError> {
        let mut commands = self.commands()?;
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        for chunk in keys.chunks(1000) {
            let mut pipe = redis::pipe();
            for key in chunk {
                pipe.cmd("PEXPIRE")
                    .arg(self.session_key(key))
                    .arg(ttl)
                    .ignore();
            }
            pipe.query_async::<()>(&mut commands)
                .await
                .map_err(unavailable)?;
        }
        Ok(true)
    }

    pub(super) async fn session_take(&self, key: &str) -> Result<Option<Vec<u8>>, AdapterError> {
        let mut commands = self.commands()?;
        redis::cmd("GETDEL")
            .arg(self.session_key(key))
            .query_async::<Option<Vec<u8>>>(&mut commands)
            .await
            .map_err(unavailable)
    }
}

fn unavailable(error: redis::RedisError) -> AdapterError {
    AdapterError::Unavailable(error.to_string())
}
