//! The Redis adapter's Lua scripts: removals that read and change several keys at once, so that
//! no other process sees (or changes) them half done.
//!
//! Keys (under the prefix): `conns` (connection id → process), `room:{room}` (members),
//! `connrooms:{id}` (the rooms of one connection), `connusers` (connection id → user id),
//! `connmeta` (connection id → presence meta).

use crate::adapter::{GoneConnection, PresenceRecord};
use crate::auth::UserId;
use crate::connection::ConnectionId;
use redis::aio::ConnectionManager;

/// Lua shared by both scripts: `forget(conns, prefix, id)` removes connection `id` from every
/// room in its `connrooms` set (its user's room included), deletes that set and its entries in
/// the `conns`, `connusers` and `connmeta` hashes; returns the rooms it was in.
macro_rules! forget_lua {
    () => {
        r"
local function forget(conns, prefix, id)
  local rooms_key = prefix .. ':connrooms:' .. id
  local rooms = redis.call('SMEMBERS', rooms_key)
  for _, room in ipairs(rooms) do
    redis.call('SREM', prefix .. ':room:' .. room, id)
  end
  redis.call('DEL', rooms_key)
  redis.call('HDEL', conns, id)
  redis.call('HDEL', prefix .. ':connusers', id)
  redis.call('HDEL', prefix .. ':connmeta', id)
  return rooms
end
"
    };
}

/// Removes connections that a process owns: `KEYS[1]` is the connection hash; `ARGV` is the
/// process's channel (whose subscribers are counted first: the process must have none, i.e. be
/// gone; an empty channel skips the check, for this process's own leftovers), its node id, the
/// key prefix, then the connection ids. An id another process owns by now is left alone.
/// Returns -1 if the process is alive, else one array per removed connection: its id, `=` and
/// its user (or an empty string), `=` and its presence meta (or an empty string), then its
/// rooms.
const REMOVE_OWNED: &str = concat!(
    forget_lua!(),
    r"
if ARGV[1] ~= '' then
  local alive = redis.call('PUBSUB', 'NUMSUB', ARGV[1])
  if tonumber(alive[2]) ~= 0 then
    return -1
  end
end
local removed = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[1], id) == ARGV[2] then
    local user = redis.call('HGET', ARGV[3] .. ':connusers', id)
    local meta = redis.call('HGET', ARGV[3] .. ':connmeta', id)
    local gone = {id, user and ('=' .. user) or '', meta and ('=' .. meta) or ''}
    for _, room in ipairs(forget(KEYS[1], ARGV[3], id)) do
      table.insert(gone, room)
    end
    table.insert(removed, gone)
  end
end
return removed
"
);

/// Removes a closed connection: `KEYS[1]` is the connection hash; `ARGV` is the key prefix, the
/// id, the closing process's node id, then the rooms it was in here. If this process still owns
/// the id (or nobody does), the id leaves every room Redis knows it in (memberships a failed
/// leave left behind included) and is forgotten; if another process owns it by now (an id the
/// application chose, reconnected elsewhere), it only leaves the rooms it was in here.
const REMOVE_CLOSED: &str = concat!(
    forget_lua!(),
    r"
local prefix, id = ARGV[1], ARGV[2]
local owner = redis.call('HGET', KEYS[1], id)
if owner == ARGV[3] or owner == false then
  forget(KEYS[1], prefix, id)
end
local rooms_key = prefix .. ':connrooms:' .. id
for i = 4, #ARGV do
  redis.call('SREM', prefix .. ':room:' .. ARGV[i], id)
  redis.call('SREM', rooms_key, ARGV[i])
end
return 0
"
);

/// The scripts, loaded once per adapter (a script is sent by its SHA-1, and in full only when
/// Redis does not know it yet).
#[derive(Clone)]
pub(super) struct Scripts {
    remove_owned: redis::Script,
    remove_closed: redis::Script,
}

/// One removed connection as the removal script describes it (see [`REMOVE_OWNED`]).
fn gone(fields: Vec<String>) -> Option<GoneConnection> {
    let mut fields = fields.into_iter();
    let connection = ConnectionId::from(fields.next()?);
    let user = fields.next()?;
    let meta = fields.next()?;
    let meta = meta
        .strip_prefix('=')
        .and_then(|meta| serde_json::from_str(meta).ok())
        .unwrap_or(serde_json::Value::Null);
    Some(GoneConnection {
        record: PresenceRecord {
            connection,
            user: user.strip_prefix('=').map(UserId::from),
            meta,
        },
        rooms: fields.collect(),
    })
}

/// Whose connections [`Scripts::remove_owned`] removes.
pub(super) enum Owner<'a> {
    /// A process believed gone: removes nothing if its channel has a subscriber.
    Gone { channel: &'a str, node: &'a str },
    /// This process: its leftovers, which it knows are not open here.
    ThisProcess { node: &'a str },
}

impl Scripts {
    pub(super) fn new() -> Self {
        Scripts {
            remove_owned: redis::Script::new(REMOVE_OWNED),
            remove_closed: redis::Script::new(REMOVE_CLOSED),
        }
    }

    /// Removes `ids` that `owner` owns, with their memberships; `None` if the owner turned out
    /// to be alive, else the removed connections.
    pub(super) async fn remove_owned(
        &self,
        commands: &mut ConnectionManager,
        prefix: &str,
        owner: Owner<'_>,
        ids: &[String],
    ) -> redis::RedisResult<Option<Vec<GoneConnection>>> {
        let (channel, node) = match owner {
            Owner::Gone { channel, node } => (channel, node),
            Owner::ThisProcess { node } => ("", node),
        };
        let mut call = self.remove_owned.key(super::keys::conns(prefix));
        call.arg(channel).arg(node).arg(prefix).arg(ids);
        let removed: redis::Value = call.invoke_async(commands).await?;
        if let redis::Value::Int(_) = removed {
            return Ok(None);
        }
        match redis::from_redis_value::<Vec<Vec<String>>>(removed) {
            Ok(removed) => Ok(Some(removed.into_iter().filter_map(gone).collect())),
            Err(error) => {
                // The removal happened; only its report is lost.
                tracing::debug!(%error, "unreadable answer of the removal script");
                Ok(Some(Vec::new()))
            }
        }
    }

    /// Removes connection `id`, closed on process `node` while in `rooms`.
    pub(super) async fn remove_closed(
        &self,
        commands: &mut ConnectionManager,
        prefix: &str,
        node: &str,
        id: &str,
        rooms: &[String],
    ) -> redis::RedisResult<()> {
        let mut call = self.remove_closed.key(super::keys::conns(prefix));
        call.arg(prefix).arg(id).arg(node).arg(rooms);
        call.invoke_async(commands).await
    }
}
