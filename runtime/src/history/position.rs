//! A recorded message as a recovering client gets it: the envelope with its `Pos`.

use super::Position;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The envelope `text` with `,"Pos":{"room":…,"epoch":…,"seq":…}` added (see
/// `docs/PROTOCOL.md`, "Connection recovery"). A text that is not a JSON object (the gateway
/// relays text as it is) is returned unchanged.
pub(crate) fn with_position(text: &Utf8Bytes, room: &str, position: &Position) -> Utf8Bytes {
    let Some(open) = text.as_str().trim_end().strip_suffix('}') else {
        return text.clone();
    };
    if !open.trim_start().starts_with('{') {
        return text.clone();
    }
    // Strings always serialize.
    let room = serde_json::to_string(room).unwrap_or_default();
    let epoch = serde_json::to_string(&*position.epoch).unwrap_or_default();
    let mut out = String::with_capacity(text.len() + room.len() + epoch.len() + 48);
    out.push_str(open);
    if !open.trim_end().ends_with('{') {
        out.push(',');
    }
    out.push_str("\"Pos\":{\"room\":");
    out.push_str(&room);
    out.push_str(",\"epoch\":");
    out.push_str(&epoch);
    out.push_str(",\"seq\":");
    out.push_str(&position.seq.to_string());
    out.push_str("}}");
    Utf8Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_is_added_to_an_envelope() {
        let text = Utf8Bytes::from(r#"{"Type":"Chat","Data":{"text":"}"}}"#);
        let out = with_position(&text, "lobby\"1", &Position::new("e1", 7));
        assert_eq!(
            out.as_str(),
            r#"{"Type":"Chat","Data":{"text":"}"},"Pos":{"room":"lobby\"1","epoch":"e1","seq":7}}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(out.as_str()).unwrap_or_default();
        assert_eq!(parsed["Pos"]["seq"], 7);
        let plain = Utf8Bytes::from("not json");
        assert_eq!(with_position(&plain, "r", &Position::new("e", 1)), plain);
    }
}
