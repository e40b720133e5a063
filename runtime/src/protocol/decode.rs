//! Reading an incoming envelope straight from the frame's text, without copying `Data`.

use super::ErrorCode;
use exws_protocol::envelope::MAX_INTEGER_ID_DIGITS;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// An incoming envelope, borrowing from the frame.
#[derive(Debug)]
pub(crate) struct Incoming<'a> {
    /// `Type`.
    pub message_type: Cow<'a, str>,
    /// `Data` as raw JSON text (`null` when absent).
    pub data: &'a str,
    /// `Id` as raw JSON text (a JSON string or integer), to echo back unchanged.
    pub id: Option<&'a str>,
}

/// Why a frame is not a valid envelope.
#[derive(Debug)]
pub(crate) struct IncomingError {
    pub code: ErrorCode,
    pub message: String,
    /// The `Id` of the frame, when it could still be read.
    pub id: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Type", borrow)]
    message_type: Cow<'a, str>,
    #[serde(rename = "Data", borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(rename = "Id", borrow, default)]
    id: Option<&'a RawValue>,
}

/// Only the `Id` of a frame that failed to parse as an envelope, to echo it in the error.
#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(rename = "Id", borrow, default)]
    id: Option<&'a RawValue>,
}

impl<'a> Incoming<'a> {
    /// Parses one text frame.
    pub(crate) fn parse(text: &'a str) -> Result<Self, IncomingError> {
        // serde reads structs from arrays too: an envelope must be an object.
        // JSON's whitespace is ASCII: no need for Unicode's tables.
        if !text.trim_ascii_start().starts_with('{') {
            return Err(not_an_object(text));
        }
        let envelope: Envelope<'a> = match serde_json::from_str(text) {
            Ok(envelope) => envelope,
            Err(error) => return Err(classify(text, &error)),
        };
        let id = match envelope.id {
            Some(id) if !is_valid_id(id.get()) => {
                return Err(IncomingError {
                    code: ErrorCode::InvalidEnvelope,
                    message: format!(
                    "`Id` must be a string or an integer of at most {MAX_INTEGER_ID_DIGITS} digits"
                ),
                    id: None,
                })
            }
            id => id.map(RawValue::get),
        };
        Ok(Incoming {
            message_type: envelope.message_type,
            data: envelope.data.map_or("null", RawValue::get),
            id,
        })
    }
}

fn not_an_object(text: &str) -> IncomingError {
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Err(error) => IncomingError {
            code: ErrorCode::InvalidJson,
            message: format!("the frame is not valid JSON: {error}"),
            id: None,
        },
        Ok(_) => IncomingError {
            code: ErrorCode::InvalidEnvelope,
            message: "expected a JSON object with a string `Type` (and optional `Data` and `Id`)"
                .to_owned(),
            id: None,
        },
    }
}

fn classify(text: &str, error: &serde_json::Error) -> IncomingError {
    use serde_json::error::Category;
    let syntax = match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => true,
        // A shape error can be met before a syntax error later in the text: check the whole text.
        Category::Data => serde_json::from_str::<serde::de::IgnoredAny>(text).is_err(),
    };
    if syntax {
        return IncomingError {
            code: ErrorCode::InvalidJson,
            message: format!("the frame is not valid JSON: {error}"),
            id: None,
        };
    }
    let id = serde_json::from_str::<IdOnly<'_>>(text)
        .ok()
        .and_then(|only| only.id)
        .map(RawValue::get)
        .filter(|id| is_valid_id(id))
        .map(str::to_owned);
    // The error path only: learn which field was wrong.
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let detail = match serde_path_to_error::deserialize::<_, Envelope<'_>>(&mut deserializer) {
        Err(path_error) if path_error.path().to_string() != "." => format!(
            "`{}`: {}",
            path_error.path(),
            strip_position(&path_error.inner().to_string())
        ),
        _ => strip_position(&error.to_string()).to_owned(),
    };
    IncomingError {
        code: ErrorCode::InvalidEnvelope,
        message: format!(
            "expected an object with a string `Type` (and optional `Data` and `Id`): {detail}"
        ),
        id,
    }
}

/// `Id` is a JSON string or a JSON integer (no fraction, no exponent, at most
/// [`MAX_INTEGER_ID_DIGITS`] digits).
fn is_valid_id(raw: &str) -> bool {
    // A raw value as serde_json reads it has no surrounding whitespace; ASCII's is all JSON has.
    let raw = raw.trim_ascii();
    if raw.starts_with('"') {
        // The parser read it as a JSON string already: only an escape can still make it no
        // string, like an unpaired surrogate `"\ud800"`, which the client could not read back.
        return !raw.contains('\\')
            || serde_json::from_str::<std::borrow::Cow<'_, str>>(raw).is_ok();
    }
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    !digits.is_empty()
        && digits.len() <= MAX_INTEGER_ID_DIGITS
        && digits.bytes().all(|byte| byte.is_ascii_digit())
}

/// serde_json ends its messages with "at line L column C": noise for a one-line frame's part.
pub(crate) fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(index) => &message[..index],
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_type_data_and_id() {
        let text = r#"{"Type":"Calc","Data":{"numbers":[1, 2]},"Id":7,"Extra":true}"#;
        let incoming = Incoming::parse(text).expect("valid");
        assert_eq!(incoming.message_type, "Calc");
        assert_eq!(incoming.data, r#"{"numbers":[1, 2]}"#);
        assert_eq!(incoming.id, Some("7"));
        assert!(matches!(incoming.message_type, Cow::Borrowed(_)));
    }

    #[test]
    fn absent_or_null_data_reads_as_null() {
        assert_eq!(
            Incoming::parse(r#"{"Type":"A"}"#).expect("valid").data,
            "null"
        );
        assert_eq!(
            Incoming::parse(r#"{"Type":"A","Data":null}"#)
                .expect("valid")
                .data,
            "null"
        );
    }

    #[test]
    fn keeps_string_ids_verbatim() {
        let incoming = Incoming::parse(r#"{"Type":"A","Id":"a\"b"}"#).expect("valid");
        assert_eq!(incoming.id, Some(r#""a\"b""#));
    }

    #[test]
    fn tells_invalid_json_from_invalid_envelope() {
        let code = |text: &str| Incoming::parse(text).err().map(|error| error.code);
        assert_eq!(code("{nope"), Some(ErrorCode::InvalidJson));
        assert_eq!(
            code(r#"{"Type": 5, "Data": [}"#),
            Some(ErrorCode::InvalidJson)
        );
        assert_eq!(code("[1,2]"), Some(ErrorCode::InvalidEnvelope));
        assert_eq!(code(r#"["A", null, 1]"#), Some(ErrorCode::InvalidEnvelope));
        assert_eq!(code("[1,"), Some(ErrorCode::InvalidJson));
        assert_eq!(code("  42 "), Some(ErrorCode::InvalidEnvelope));
        assert_eq!(code(""), Some(ErrorCode::InvalidJson));
        assert_eq!(code(r#"{"Data": 1}"#), Some(ErrorCode::InvalidEnvelope));
        assert_eq!(code(r#"{"Type": 5}"#), Some(ErrorCode::InvalidEnvelope));
        assert_eq!(
            code(r#"{"Type": "A", "Id": 1.5}"#),
            Some(ErrorCode::InvalidEnvelope)
        );
        assert_eq!(
            code(r#"{"Type": "A", "Id": [1]}"#),
            Some(ErrorCode::InvalidEnvelope)
        );
    }

    #[test]
    fn refuses_integer_ids_too_long_to_read_back() {
        let longest = "9".repeat(MAX_INTEGER_ID_DIGITS);
        let text = format!(r#"{{"Type":"A","Id":-{longest}}}"#);
        let incoming = Incoming::parse(&text).expect("valid");
        assert_eq!(incoming.id, Some(format!("-{longest}").as_str()));
        let text = format!(r#"{{"Type":"A","Id":{longest}1}}"#);
        let error = Incoming::parse(&text).expect_err("too long");
        assert_eq!(error.code, ErrorCode::InvalidEnvelope);
        assert_eq!(error.id, None);
    }

    #[test]
    fn refuses_string_ids_that_are_no_string() {
        let error = Incoming::parse(r#"{"Type": "A", "Id": "\ud800"}"#).expect_err("invalid");
        assert_eq!(error.code, ErrorCode::InvalidEnvelope);
        assert!(Incoming::parse(r#"{"Type": "A", "Id": "\ud83d\ude00"}"#).is_ok());
    }

    #[test]
    fn names_the_wrong_field() {
        let error = Incoming::parse(r#"{"Type": 5}"#).expect_err("invalid");
        assert!(error.message.contains("`Type`"), "{}", error.message);
    }

    #[test]
    fn echoes_the_id_of_an_invalid_envelope_when_it_can() {
        let error = Incoming::parse(r#"{"Type": 5, "Id": "x"}"#).expect_err("invalid");
        assert_eq!(error.id.as_deref(), Some(r#""x""#));
    }
}
