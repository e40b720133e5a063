//! Properties of the decode/dispatch path, over generated frames (the same properties the
//! `cargo fuzz` target in `fuzz/` checks over arbitrary bytes):
//!
//! - dispatching never panics, and always answers with at least one envelope, unless the `Type`
//!   names handlers that reply nothing;
//! - every envelope sent is a JSON object with a string `Type`; every `Error` has one of the
//!   protocol's codes and a message;
//! - an `Id` in a reply is the request's `Id`, byte for byte: never invented, never altered.
//!
//! For well-formed envelopes, the exact answer is predicted too (reply, `invalid_data`,
//! `handler_error`, `handler_panic`, `unknown_type`, `invalid_envelope`, or nothing).

use exws::__private::FrameHarness;
use exws::{handlers, message};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::OnceLock;

// ---- the handlers ----------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct CalculateRequest {
    numbers: Vec<i64>,
}

#[derive(Debug, Serialize)]
struct CalculateResponse {
    result: i64,
}

/// The calculator (wrapping, so that only the `boom` handler panics).
#[message]
async fn calculate(request: CalculateRequest) -> CalculateResponse {
    CalculateResponse {
        result: request
            .numbers
            .iter()
            .fold(0i64, |sum, n| sum.wrapping_add(*n)),
    }
}

/// Always fails with `handler_error`.
#[message(type = "fail", reply = "fail.never")]
async fn fail(_request: Value) -> Result<bool, String> {
    Err("refused on purpose".to_owned())
}

const PANIC_MESSAGE: &str = "dispatch_properties: a deliberate panic";

/// Always panics: `handler_panic`.
#[message(type = "boom", reply = "boom.never")]
async fn boom(_request: Value) -> bool {
    panic!("{PANIC_MESSAGE}")
}

/// Never replies.
#[message(type = "quiet")]
async fn quiet(_request: Value) {}

#[derive(Debug, Deserialize)]
struct Maybe {
    reply: bool,
}

/// Replies only when asked to (`Option`).
#[message(type = "maybe", reply = "maybe.yes")]
async fn maybe(request: Maybe) -> Option<bool> {
    request.reply.then_some(true)
}

/// Two handlers of one `Type`: two replies.
#[message(type = "twice", reply = "twice.a")]
async fn twice_a(_request: Value) -> u8 {
    1
}

#[message(type = "twice", reply = "twice.b")]
async fn twice_b(_request: Value) -> u8 {
    2
}

/// The `Type`s served, for the generators.
const KNOWN_TYPES: &[&str] = &[
    "CalculateRequest",
    "fail",
    "boom",
    "quiet",
    "maybe",
    "twice",
];

/// The `Type`s whose handlers may reply nothing.
const SILENT_TYPES: &[&str] = &["quiet", "maybe"];

/// The protocol's error codes.
const ERROR_CODES: &[&str] = &[
    "invalid_json",
    "invalid_envelope",
    "unknown_type",
    "invalid_data",
    "handler_error",
    "handler_panic",
    "unsupported_frame",
    "message_too_large",
    "rate_limited",
    "unauthorized",
];

fn harness() -> &'static FrameHarness {
    static HARNESS: OnceLock<FrameHarness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        quiet_deliberate_panics();
        FrameHarness::new(handlers![
            calculate, fail, boom, quiet, maybe, twice_a, twice_b
        ])
        .expect("a consistent set of handlers")
    })
}

/// Keeps the `boom` handler's panics out of the test output; other panics print as usual.
fn quiet_deliberate_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        if message != Some(PANIC_MESSAGE) {
            default(info);
        }
    }));
}

/// Dispatches `frame` on a fresh current-thread runtime, as the fuzz target does.
fn dispatch(frame: &str) -> Vec<String> {
    let harness = harness();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(harness.dispatch(frame))
}

// ---- the properties of every answer ----------------------------------------------------

#[derive(Deserialize)]
struct IdProbe<'a> {
    #[serde(rename = "Id", borrow, default)]
    id: Option<&'a RawValue>,
}

/// The `Type` of an envelope, read as the server reads it (other fields skipped unchecked).
#[derive(Deserialize)]
struct TypeProbe<'a> {
    #[serde(rename = "Type", borrow)]
    message_type: std::borrow::Cow<'a, str>,
}

/// Longest integer `Id` exws accepts (docs/PROTOCOL.md, "Extensions in exws").
const MAX_INTEGER_ID_DIGITS: usize = 64;

/// The raw `Id` of a JSON object, when it is a valid one (a string or an integer). `None` for
/// anything else, including frames that are not a JSON object, or repeat `Id`.
fn request_id(frame: &str) -> Option<&str> {
    // serde_json cannot decode an unpaired surrogate escape (valid in JSON's grammar): the
    // server may then find the frame invalid JSON, which has no `Id` to echo.
    if !frame.trim_start().starts_with('{') || has_unpaired_surrogate_escape(frame) {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(frame).ok()?;
    let id = serde_json::from_str::<IdProbe<'_>>(frame).ok()?.id?.get();
    let digits = id.strip_prefix('-').unwrap_or(id);
    let valid = id.starts_with('"')
        || (!digits.is_empty()
            && digits.len() <= MAX_INTEGER_ID_DIGITS
            && digits.bytes().all(|byte| byte.is_ascii_digit()));
    valid.then_some(id)
}

/// The properties every answer to every frame has. Returns the parsed replies.
fn check_answer(frame: &str, replies: &[String]) -> Result<Vec<Value>, TestCaseError> {
    let mut parsed = Vec::new();
    for reply in replies {
        let value: Value = serde_json::from_str(reply).map_err(|error| {
            TestCaseError::fail(format!("invalid JSON sent ({error}): {reply}"))
        })?;
        let object = value
            .as_object()
            .ok_or_else(|| TestCaseError::fail(format!("not an object: {reply}")))?;
        prop_assert!(
            object.get("Type").is_some_and(Value::is_string),
            "no string Type: {}",
            reply
        );
        if object["Type"] == "Error" {
            let code = value["Data"]["code"].as_str().unwrap_or_default();
            prop_assert!(ERROR_CODES.contains(&code), "unknown code in {}", reply);
            prop_assert!(
                value["Data"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "an error without a message: {}",
                reply
            );
        }
        // The `Id`, if any, is the request's own text: never invented or re-encoded.
        let echoed = serde_json::from_str::<IdProbe<'_>>(reply)
            .map_err(|error| TestCaseError::fail(format!("{error}: {reply}")))?
            .id
            .map(RawValue::get);
        if let Some(echoed) = echoed {
            prop_assert!(
                frame.contains(echoed),
                "the reply's Id {} is not in the request {:?}",
                echoed,
                frame
            );
        }
        // A request with a valid `Id` gets it back in every reply, byte for byte.
        if let Some(id) = request_id(frame) {
            prop_assert_eq!(echoed, Some(id), "the Id is echoed in {}", reply);
        }
        parsed.push(value);
    }
    if replies.is_empty() {
        // Silence only for the handlers that may reply nothing.
        let message_type = serde_json::from_str::<TypeProbe<'_>>(frame)
            .ok()
            .map(|probe| probe.message_type);
        prop_assert!(
            message_type.is_some_and(|t| SILENT_TYPES.contains(&&*t)),
            "no answer to {:?}",
            frame
        );
    }
    Ok(parsed)
}

/// Whether `text` holds a `\uXXXX` escape of a UTF-16 surrogate that is not part of a pair
/// (JSON's grammar allows it; serde_json refuses to decode it).
fn has_unpaired_surrogate_escape(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut index = 0;
    let mut after_high = false;
    while index < bytes.len() {
        if bytes[index] != b'\\' {
            if after_high {
                return true;
            }
            index += 1;
            continue;
        }
        let unit = bytes
            .get(index + 2..index + 6)
            .filter(|_| bytes.get(index + 1) == Some(&b'u'))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u16::from_str_radix(hex, 16).ok());
        match unit {
            Some(unit) => {
                let high = (0xD800..0xDC00).contains(&unit);
                let low = (0xDC00..0xE000).contains(&unit);
                if after_high != low {
                    return true;
                }
                after_high = high;
                index += 6;
            }
            None => {
                if after_high {
                    return true;
                }
                index += 2;
            }
        }
    }
    after_high
}

// ---- generators ------------------------------------------------------------------------

/// Whitespace JSON allows between tokens.
fn space() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just(""), 2 => Just(" "), 1 => Just("\n\t"), 1 => Just(" \r\n ")]
}

/// A JSON string literal for `text`: plainly escaped, or every character as `\uXXXX`.
fn string_literal(text: String) -> impl Strategy<Value = String> {
    let plain = serde_json::to_string(&text).expect("a string serializes");
    let escaped: String = std::iter::once("\"".to_owned())
        .chain(text.encode_utf16().map(|unit| format!("\\u{unit:04x}")))
        .chain(std::iter::once("\"".to_owned()))
        .collect();
    prop_oneof![3 => Just(plain), 1 => Just(escaped)]
}

/// Any JSON value, as text.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (-1e300f64..1e300).prop_map(|f| serde_json::to_string(&f).expect("a finite float")),
        "[0-9]{20,40}".prop_map(|digits| format!("1{digits}")),
        any::<String>().prop_flat_map(string_literal),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec(("[a-z]{0,6}", inner), 0..6).prop_map(|fields| {
                let fields: Vec<String> = fields
                    .into_iter()
                    .map(|(key, value)| format!("{key:?}:{value}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

/// The `Type` field of a generated envelope.
#[derive(Debug, Clone)]
enum TypeField {
    Absent,
    /// A string: its decoded value and its JSON text.
    Str(String, String),
    /// Another JSON value.
    Other(String),
}

/// The `Id` field of a generated envelope, as JSON text.
#[derive(Debug, Clone)]
enum IdField {
    Absent,
    /// A string or an integer.
    Valid(String),
    /// `null`: the same as no `Id`.
    Null,
    /// Anything else: the envelope is invalid.
    Invalid(String),
}

#[derive(Debug, Clone)]
struct Envelope {
    message_type: TypeField,
    data: Option<String>,
    id: IdField,
    /// Other top-level fields (ignored by the server).
    extra: Vec<(String, String)>,
    /// Writes the three field names as `\uXXXX` escapes (the same names once decoded).
    escaped_names: bool,
    /// The order the fields are written in (a permutation seed).
    order: Vec<usize>,
    spaces: Vec<&'static str>,
}

fn type_field() -> impl Strategy<Value = TypeField> {
    let name = prop_oneof![
        4 => prop::sample::select(KNOWN_TYPES).prop_map(str::to_owned),
        1 => "[A-Za-z.]{0,12}",
        1 => any::<String>(),
    ];
    prop_oneof![
        8 => name.prop_flat_map(|name| {
            string_literal(name.clone()).prop_map(move |text| TypeField::Str(name.clone(), text))
        }),
        1 => Just(TypeField::Absent),
        1 => json_value()
            .prop_filter("not a string", |text| !text.starts_with('"'))
            .prop_map(TypeField::Other),
    ]
}

fn id_field() -> impl Strategy<Value = IdField> {
    prop_oneof![
        3 => Just(IdField::Absent),
        2 => any::<u64>().prop_map(|n| IdField::Valid(n.to_string())),
        2 => any::<i64>().prop_map(|n| IdField::Valid(n.to_string())),
        1 => "[1-9][0-9]{20,40}".prop_map(IdField::Valid),
        1 => Just(IdField::Valid("-0".to_owned())),
        3 => any::<String>().prop_flat_map(string_literal).prop_map(IdField::Valid),
        1 => Just(IdField::Null),
        2 => prop_oneof![
            Just("1.5".to_owned()),
            Just("1e3".to_owned()),
            Just("-0.0".to_owned()),
            Just("true".to_owned()),
            Just("[7]".to_owned()),
            Just("{\"Id\":7}".to_owned()),
            // Valid JSON, but no string: serde_json cannot read it back.
            Just(r#""\ud800""#.to_owned()),
            Just(r#""a\udc00""#.to_owned()),
        ]
        .prop_map(IdField::Invalid),
        // Past 64 digits (and f64's range past ~309), refused rather than echoed unreadable.
        1 => "[1-9][0-9]{64,400}"
        .prop_map(IdField::Invalid),
    ]
}

fn data_field() -> impl Strategy<Value = Option<String>> {
    let numbers = prop::collection::vec(any::<i64>(), 0..8).prop_map(|numbers| {
        format!(
            "{{\"numbers\":{}}}",
            serde_json::to_string(&numbers).expect("numbers")
        )
    });
    prop_oneof![
        2 => Just(None),
        3 => numbers.prop_map(Some),
        1 => any::<bool>().prop_map(|reply| Some(format!("{{\"reply\":{reply}}}"))),
        3 => json_value().prop_map(Some),
    ]
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (
        type_field(),
        data_field(),
        id_field(),
        prop::collection::vec(("[a-z]{1,6}|type|id|data|TYPE", json_value()), 0..3),
        prop::bool::weighted(0.1),
        Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
        prop::collection::vec(space(), 32),
    )
        .prop_map(
            |(message_type, data, id, extra, escaped_names, order, spaces)| Envelope {
                message_type,
                data,
                id,
                extra,
                escaped_names,
                order,
                spaces,
            },
        )
}

impl Envelope {
    fn name(&self, name: &str) -> String {
        if self.escaped_names {
            let units: String = name
                .chars()
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect();
            format!("\"{units}\"")
        } else {
            format!("\"{name}\"")
        }
    }

    /// The frame's text.
    fn text(&self) -> String {
        let mut fields: Vec<Option<(String, String)>> = vec![
            match &self.message_type {
                TypeField::Absent => None,
                TypeField::Str(_, text) | TypeField::Other(text) => {
                    Some((self.name("Type"), text.clone()))
                }
            },
            self.data.clone().map(|data| (self.name("Data"), data)),
            match &self.id {
                IdField::Absent => None,
                IdField::Null => Some((self.name("Id"), "null".to_owned())),
                IdField::Valid(text) | IdField::Invalid(text) => {
                    Some((self.name("Id"), text.clone()))
                }
            },
        ];
        fields.extend(
            self.extra
                .iter()
                .map(|(key, value)| Some((format!("{key:?}"), value.clone()))),
        );
        let mut spaces = self.spaces.iter().cycle();
        let mut next_space = || *spaces.next().expect("an endless cycle");
        let mut parts = Vec::new();
        for index in &self.order {
            if let Some(Some((key, value))) = fields.get(*index) {
                parts.push(format!("{key}{}:{}{value}", next_space(), next_space()));
            }
        }
        let separator = format!(",{}", next_space());
        format!(
            "{}{{{}{}}}{}",
            next_space(),
            parts.join(&separator),
            next_space(),
            next_space()
        )
    }

    /// The `Id` every reply must carry.
    fn expected_id(&self) -> Option<&str> {
        match &self.id {
            IdField::Valid(text) => Some(text),
            _ => None,
        }
    }

    /// What the server must answer: `(Type, error code)` per reply, in order.
    fn expected(&self) -> Vec<(String, Option<&'static str>)> {
        let error = |code| vec![("Error".to_owned(), Some(code))];
        let reply = |message_type: &str| (message_type.to_owned(), None);
        if matches!(self.id, IdField::Invalid(_)) {
            return error("invalid_envelope");
        }
        let TypeField::Str(message_type, _) = &self.message_type else {
            return error("invalid_envelope");
        };
        let data = self.data.as_deref().unwrap_or("null");
        match message_type.as_str() {
            "CalculateRequest" => match decode::<CalculateRequest>(data) {
                Some(_) => vec![reply("CalculateResponse")],
                None => error("invalid_data"),
            },
            "fail" => error("handler_error"),
            "boom" => error("handler_panic"),
            "quiet" => Vec::new(),
            "maybe" => match decode::<Maybe>(data) {
                Some(Maybe { reply: true }) => vec![reply("maybe.yes")],
                Some(Maybe { reply: false }) => Vec::new(),
                None => error("invalid_data"),
            },
            "twice" => vec![reply("twice.a"), reply("twice.b")],
            _ => error("unknown_type"),
        }
    }
}

/// `Data` decoded as the server does: absent (`null`) reads as `{}` for a struct that accepts it.
fn decode<T: serde::de::DeserializeOwned>(data: &str) -> Option<T> {
    serde_json::from_str(data).ok().or_else(|| {
        (data == "null")
            .then(|| serde_json::from_str("{}").ok())
            .flatten()
    })
}

/// Text made of JSON-ish tokens: near misses of envelopes.
fn json_ish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{"),
        Just("}"),
        Just("["),
        Just("]"),
        Just(":"),
        Just(","),
        Just("\"Type\""),
        Just("\"Data\""),
        Just("\"Id\""),
        Just("\"CalculateRequest\""),
        Just("\"quiet\""),
        Just("\"boom\""),
        Just("\"numbers\""),
        Just("7"),
        Just("-1"),
        Just("1.5e9"),
        Just("null"),
        Just("true"),
        Just("\"\\u00e9\\ud83d\\ude00\""),
        Just("\"\\ud800\""),
        Just("\""),
        Just("\\"),
        Just(" "),
    ];
    prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
}

/// A generated envelope with one edit: truncated, a character inserted, or one removed.
fn mutated_envelope() -> impl Strategy<Value = String> {
    (
        envelope(),
        any::<prop::sample::Index>(),
        any::<char>(),
        0..3u8,
    )
        .prop_map(|(envelope, at, inserted, edit)| {
            let mut text = envelope.text();
            let boundaries: Vec<usize> = text
                .char_indices()
                .map(|(index, _)| index)
                .chain(std::iter::once(text.len()))
                .collect();
            let at = boundaries[at.index(boundaries.len())];
            match edit {
                0 => text.truncate(at),
                1 => text.insert(at, inserted),
                _ => {
                    if at < text.len() {
                        text.remove(at);
                    }
                }
            }
            text
        })
}

// ---- the properties --------------------------------------------------------------------

/// 256 cases per property in the normal test suite; `PROPTEST_CASES=100000` for a longer run.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        // A failure is reported with its minimal input; no regression files in the tree.
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_is_answered_without_panicking(frame in any::<String>()) {
        let replies = dispatch(&frame);
        check_answer(&frame, &replies)?;
    }

    #[test]
    fn json_ish_text_is_answered_without_panicking(frame in json_ish()) {
        let replies = dispatch(&frame);
        check_answer(&frame, &replies)?;
    }

    #[test]
    fn mutated_envelopes_are_answered_without_panicking(frame in mutated_envelope()) {
        let replies = dispatch(&frame);
        check_answer(&frame, &replies)?;
    }

    #[test]
    fn arbitrary_json_values_are_answered_without_panicking(frame in json_value()) {
        let replies = dispatch(&frame);
        let parsed = check_answer(&frame, &replies)?;
        if !frame.starts_with('{') {
            // Valid JSON, but not an object.
            prop_assert_eq!(parsed.len(), 1);
            prop_assert_eq!(&parsed[0]["Data"]["code"], "invalid_envelope");
        }
    }

    #[test]
    fn envelopes_get_exactly_the_predicted_answer(envelope in envelope()) {
        let frame = envelope.text();
        let replies = dispatch(&frame);
        let parsed = check_answer(&frame, &replies)?;
        let kinds: Vec<(String, Option<&str>)> = parsed
            .iter()
            .map(|reply| {
                let message_type = reply["Type"].as_str().unwrap_or_default().to_owned();
                (message_type, reply["Data"]["code"].as_str())
            })
            .collect();
        let expected = envelope.expected();
        prop_assert_eq!(&kinds, &expected, "the answer to {}", frame);
        for text in &replies {
            let echoed = serde_json::from_str::<IdProbe<'_>>(text)
                .expect("checked above")
                .id
                .map(RawValue::get);
            prop_assert_eq!(echoed, envelope.expected_id(), "the Id of {}", text);
        }
        if let (TypeField::Str(message_type, _), Some(("Error", Some("unknown_type")))) = (
            &envelope.message_type,
            kinds.first().map(|(t, c)| (t.as_str(), *c)),
        ) {
            prop_assert_eq!(&parsed[0]["Data"]["type"], message_type.as_str());
        }
        if let [reply] = &parsed[..] {
            if reply["Type"] == "CalculateResponse" {
                let request: CalculateRequest =
                    decode(envelope.data.as_deref().unwrap_or("null")).expect("decoded above");
                let sum = request.numbers.iter().fold(0i64, |sum, n| sum.wrapping_add(*n));
                prop_assert_eq!(&reply["Data"]["result"], sum);
            }
        }
    }
}

/// Frames found worth keeping: each once, with the full check.
#[test]
fn known_edge_cases_are_answered() {
    let frames = [
        "",
        " ",
        "{",
        "}",
        "[]",
        "null",
        "\"Type\"",
        "{}",
        r#"{"Type":null}"#,
        r#"{"Type":"quiet","Type":"quiet"}"#,
        r#"{"Type":"CalculateRequest","Data":{"numbers":[1,2]},"Id":7,"Id":8}"#,
        r#"{"Type":"CalculateRequest","Data":{"numbers":[1,2]},"Id":007}"#,
        r#"{"Type":"CalculateRequest","Data":{"numbers":[1,2]},"Id":"\u0000\ud83d\ude00"}"#,
        r#"{"Type":"CalculateRequest","Data":{"numbers":[9223372036854775807,1]}}"#,
        r#"{"Type":"quiet"} trailing"#,
        r#"{"Type":"quiet","x":-1e400}"#,
        r#"{"Type":"CalculateRequest","Data":{"numbers":[1]},"Id":-0,"x":[1e400]}"#,
        r#"{"Type":"\ud800"}"#,
        r#"{"Id":12345678901234567890123456789,"Type":5}"#,
        "{\"Type\":\"boom\",\"Id\":\"x\"}",
        &"[".repeat(10_000),
        &format!(
            "{{\"Type\":\"fail\",\"Data\":{}1{}}}",
            "[".repeat(200),
            "]".repeat(200)
        ),
    ];
    for frame in frames {
        let replies = dispatch(frame);
        if let Err(error) = check_answer(frame, &replies) {
            panic!("{error} for {frame:?}: {replies:?}");
        }
    }
}

#[test]
fn the_surrogate_scan_finds_unpaired_escapes_only() {
    assert!(!has_unpaired_surrogate_escape(r#"{"Id":"\ud83d\ude00"}"#));
    assert!(!has_unpaired_surrogate_escape(r#"{"Id":"\\ud800"}"#));
    assert!(has_unpaired_surrogate_escape(r#"{"Id":"\ud800"}"#));
    assert!(has_unpaired_surrogate_escape(r#"{"Id":"\ude00"}"#));
    assert!(has_unpaired_surrogate_escape(r#"{"Id":"\ud83d%\ude00"}"#));
    assert!(has_unpaired_surrogate_escape(r#"{"Id":"\ud83d\ud83d"}"#));
}

#[test]
fn an_id_with_an_unpaired_surrogate_is_refused_not_echoed() {
    // JSON's grammar allows `"\ud800"`, but it is no string: serde_json (so exws-client)
    // cannot read it back. Such an `Id` makes the envelope invalid, and is not echoed.
    for frame in [
        r#"{"Type":"CalculateRequest","Data":{"numbers":[1]},"Id":"\ud800"}"#,
        r#"{"Type":"fail","Id":"\udc00x"}"#,
        r#"{"Type":"nope","Id":"\ud83d\ud83d"}"#,
    ] {
        let replies = dispatch(frame);
        if let Err(error) = check_answer(frame, &replies) {
            panic!("{error} for {frame:?}: {replies:?}");
        }
        let [reply] = &replies[..] else {
            panic!("one error for {frame}, got {replies:?}");
        };
        let reply: Value = serde_json::from_str(reply).expect("checked above");
        assert_eq!(reply["Data"]["code"], "invalid_envelope", "{reply}");
        assert!(reply.get("Id").is_none(), "the Id is not echoed: {reply}");
    }
}

#[test]
fn a_huge_integer_id_is_not_echoed_into_an_unreadable_reply() {
    // Found by the fuzz target. 20- to 40-digit Ids are read back as `f64` and are fine; past
    // `f64::MAX` serde_json refuses the number, and with it the whole envelope.
    let id = format!("7{}", "3".repeat(400));
    for message_type in ["CalculateRequest", "fail", "nope"] {
        let frame = format!(r#"{{"Type":"{message_type}","Data":{{"numbers":[1]}},"Id":{id}}}"#);
        let replies = dispatch(&frame);
        assert!(!replies.is_empty(), "an answer to {frame}");
        for reply in replies {
            if let Err(error) = serde_json::from_str::<Value>(&reply) {
                panic!("the answer to a {message_type} cannot be read ({error}): {reply}");
            }
        }
    }
}
