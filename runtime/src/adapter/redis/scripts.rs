//! The Redis adapter's Lua scripts: removals that read and change several keys at once, so that
//! no other process sees (or changes) them half done.
//!
//! Keys (under the prefix): `conns` (connection id → process), `room:{room}` (members),
//! `connrooms:{id}` (the rooms of one connection), `connusers` (connection id → user id).

use redis::aio::ConnectionManager;

/// Lua shared by both scripts: `forget(conns, prefix, id)` removes connection `id` from every
/// room in its `connrooms` set (its user's room included), deletes that set and its entries in
/// the `conns` and `connusers` hashes.
macro_rules! forget_lua {
    () => {
        r"
local function forget(conns, prefix, id)
  local rooms_key = prefix .. ':connrooms:' .. id
  for _, room in ipairs(redis.call('SMEMBERS', rooms_key)) do
    redis.call('SREM', prefix .. ':room:' .. room, id)
  end
  redis.call('DEL', rooms_key)
  redis.call('HDEL', conns, id)
  redis.call('HDEL', prefix .. ':connusers', id)
end
"
    };
}

/// Removes connections that a process owns: `KEYS[1]` is the connection hash; `ARGV` is the
/// process's channel (whose subscribers are counted first: the process must have none, i.e. be
/// gone; an empty channel skips the check, for this process's own leftovers), its node id, the
/// key prefix, then the connection ids. An id another process owns by now is left alone.
/// Returns how many were removed, or -1 if the process is alive.
const REMOVE_OWNED: &str = concat!(
    forget_lua!(),
    r"
if ARGV[1] ~= '' then
  local alive = redis.call('PUBSUB', 'NUMSUB', ARGV[1])
  if tonumber(alive[2]) ~= 0 then
    return -1
  end
end
local removed = 0
for i = 4, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[2] then
    forget(KEYS[1], ARGV[3], ARGV[i])
    removed = removed + 1
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
    /// to be alive, else how many were removed.
    pub(super) async fn remove_owned(
        &self,
        commands: &mut ConnectionManager,
        prefix: &str,
        owner: Owner<'_>,
        ids: &[String],
    ) -> redis::RedisResult<Option<usize>> {
        let (channel, node) = match owner {
            Owner::Gone { channel, node } => (channel, node),
            Owner::ThisProcess { node } => ("", node),
        };
        let mut call = self.remove_owned.key(super::keys::conns(prefix));
        call.arg(channel).arg(node).arg(prefix).arg(ids);
        let removed: i64 = call.invoke_async(commands).await?;
        Ok(usize::try_from(removed).ok())
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
