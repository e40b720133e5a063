//! The names of the adapter's subjects and of its stream, all under the deployment's prefix,
//! and the encoding of a name as one subject token.

use crate::connection::ConnectionId;

/// `raw` as one subject token: itself when it is only ASCII letters, digits, `-` and `_`;
/// otherwise `~` and its bytes in hex (a room `a.b`, a user's room, a subscription id).
pub(super) fn token(raw: &str) -> String {
    if is_plain(raw) {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(1 + raw.len() * 2);
    out.push('~');
    for byte in raw.bytes() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `raw` is a non-empty token of ASCII letters, digits, `-` and `_`.
pub(super) fn is_plain(raw: &str) -> bool {
    !raw.is_empty()
        && raw
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// The name a [`token`] stands for; `None` for a token this adapter did not write.
pub(super) fn untoken(token: &str) -> Option<String> {
    let Some(hex) = token.strip_prefix('~') else {
        return is_plain(token).then(|| token.to_owned());
    };
    if hex.len() % 2 != 0 {
        return None;
    }
    let digit = |byte: u8| char::from(byte).to_digit(16);
    let bytes: Option<Vec<u8>> = hex
        .as_bytes()
        .chunks_exact(2)
        .map(|pair| u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// The subjects of one deployment.
#[derive(Debug, Clone)]
pub(super) struct Subjects {
    prefix: String,
}

impl Subjects {
    pub(super) fn new(prefix: &str) -> Self {
        Subjects {
            prefix: prefix.to_owned(),
        }
    }

    /// The state stream's name.
    pub(super) fn stream(&self) -> String {
        format!("{}-state", self.prefix)
    }

    /// Every subject of the state stream.
    pub(super) fn state(&self) -> String {
        format!("{}.state.>", self.prefix)
    }

    pub(super) fn everyone(&self) -> String {
        format!("{}.all", self.prefix)
    }

    pub(super) fn room(&self, room: &str) -> String {
        format!("{}.room.{}", self.prefix, token(room))
    }

    /// A subject nobody subscribes to: a request there is answered by the server itself.
    pub(super) fn sync(&self) -> String {
        format!("{}.sync", self.prefix)
    }

    /// The subject of a process (`node` is a plain token).
    pub(super) fn node(&self, node: &str) -> String {
        format!("{}.node.{node}", self.prefix)
    }

    pub(super) fn conn(&self, node: &str, id: &ConnectionId) -> String {
        format!("{}.state.conn.{node}.{}", self.prefix, token(id.as_str()))
    }

    /// The entry of `id`, whichever process holds it.
    pub(super) fn conn_any_node(&self, id: &ConnectionId) -> String {
        format!("{}.state.conn.*.{}", self.prefix, token(id.as_str()))
    }

    /// Every connection entry.
    pub(super) fn conns(&self) -> String {
        format!("{}.state.conn.*.*", self.prefix)
    }

    pub(super) fn user(&self, id: &ConnectionId) -> String {
        format!("{}.state.user.{}", self.prefix, token(id.as_str()))
    }

    pub(super) fn member(&self, room: &str, id: &ConnectionId) -> String {
        format!(
            "{}.state.member.{}.{}",
            self.prefix,
            token(room),
            token(id.as_str())
        )
    }

    /// Every membership of `room`.
    pub(super) fn members(&self, room: &str) -> String {
        format!("{}.state.member.{}.*", self.prefix, token(room))
    }

    /// Every membership of connection `id`.
    pub(super) fn memberships(&self, id: &ConnectionId) -> String {
        format!("{}.state.member.*.{}", self.prefix, token(id.as_str()))
    }

    /// The process and the connection of a connection entry's subject.
    pub(super) fn parse_conn(&self, subject: &str) -> Option<(String, ConnectionId)> {
        let rest = subject
            .strip_prefix(&self.prefix)?
            .strip_prefix(".state.conn.")?;
        let (node, id) = rest.split_once('.')?;
        Some((node.to_owned(), ConnectionId::from(untoken(id)?)))
    }

    /// The connection of a membership's subject.
    pub(super) fn parse_member(&self, subject: &str) -> Option<ConnectionId> {
        let rest = subject
            .strip_prefix(&self.prefix)?
            .strip_prefix(".state.member.")?;
        let (_room, id) = rest.split_once('.')?;
        Some(ConnectionId::from(untoken(id)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_single_subject_tokens() {
        for raw in [
            "lobby",
            "a.b",
            "",
            "\u{1}user:ada",
            "x y",
            "~",
            "*",
            ">",
            "id#3",
            "é",
        ] {
            let token = token(raw);
            assert!(
                !token.is_empty() && !token.contains(['.', '*', '>', ' ']) && token.is_ascii(),
                "{raw:?} -> {token:?}"
            );
            assert_eq!(untoken(&token).as_deref(), Some(raw), "{token:?}");
        }
        assert_eq!(token("lobby"), "lobby");
        assert_eq!(untoken("~6"), None);
        assert_eq!(untoken("~zz"), None);
        assert_eq!(untoken("a.b"), None);
    }

    #[test]
    fn entries_parse_back() {
        let subjects = Subjects::new("exws");
        let id = ConnectionId::from("abc-1#2");
        let conn = subjects.conn("n1", &id);
        assert_eq!(
            subjects.parse_conn(&conn),
            Some(("n1".to_owned(), id.clone()))
        );
        let member = subjects.member("a.b", &id);
        assert_eq!(subjects.parse_member(&member), Some(id));
        assert_eq!(subjects.parse_member("other.state.member.x.y"), None);
    }
}
