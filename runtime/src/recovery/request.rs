//! What a client asks for at its handshake: `exws_recover=1` (a new recoverable session), or
//! `exws_recover=<token>&exws_id=<connection id>&exws_since=<positions>` (resume).

use crate::adapter::Position;
use crate::connection::ConnectionId;
use crate::handshake::HandshakeRequest;
use std::collections::HashMap;

/// The most rooms a resume may present positions for (more are ignored: their rooms replay
/// from the position they were joined at).
const MAX_PRESENTED: usize = 1024;

/// A client's recovery request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requested {
    /// A new session.
    New,
    /// The session `id` with `token`, and the last position received in each room.
    Resume {
        id: ConnectionId,
        token: String,
        since: HashMap<String, Position>,
    },
}

/// The recovery the handshake asks for, if any. A resume whose parameters are malformed is
/// read as a resume of nothing (the client is told its session could not be recovered).
pub(crate) fn requested(request: &HandshakeRequest) -> Option<Requested> {
    let recover = request.query_param("exws_recover")?;
    let recover = recover.trim();
    if recover.is_empty() || recover == "1" || recover == "new" {
        return Some(Requested::New);
    }
    let id = request
        .query_param("exws_id")
        .map(|id| ConnectionId::from(id.into_owned()))
        .unwrap_or_else(|| ConnectionId::from(""));
    let since = request
        .query_param("exws_since")
        .map(|since| parse_since(&since))
        .unwrap_or_default();
    Some(Requested::Resume {
        id,
        token: recover.chars().take(128).collect(),
        since,
    })
}

/// `{"room": ["epoch", seq], ...}`; anything else is ignored.
fn parse_since(text: &str) -> HashMap<String, Position> {
    let Ok(serde_json::Value::Object(rooms)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return HashMap::new();
    };
    rooms
        .into_iter()
        .take(MAX_PRESENTED)
        .filter_map(|(room, position)| {
            let [epoch, seq] = position.as_array()?.as_slice() else {
                return None;
            };
            Some((room, Position::new(epoch.as_str()?, seq.as_u64()?)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_read_and_bad_ones_ignored() {
        let since = parse_since(r#"{"a":["e1",4],"b":["e2",-1],"c":"x","d":["e3",0]}"#);
        assert_eq!(since.len(), 2);
        assert_eq!(since["a"], Position::new("e1", 4));
        assert_eq!(since["d"], Position::new("e3", 0));
        assert!(parse_since("not json").is_empty());
    }
}
