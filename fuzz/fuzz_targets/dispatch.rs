//! Fuzzes exws's decode/dispatch path: arbitrary bytes (as lossy UTF-8, like a text frame)
//! through envelope parsing, handler lookup, `Data` decoding and the handlers, with
//! `exws::__private::FrameHarness` on a current-thread Tokio runtime.
//!
//! Properties (the same as `tests/dispatch_properties.rs`):
//! - dispatching never panics (a handler's panic is caught and answered, not propagated);
//! - every frame gets at least one envelope, unless its `Type` names handlers that may reply
//!   nothing;
//! - every envelope is a JSON object with a string `Type`; every `Error` has a protocol code
//!   and a message;
//! - a reply's `Id` is text of the request (never invented), and a request with a valid `Id`
//!   gets it back byte for byte in every reply.

#![no_main]

use exws::__private::FrameHarness;
use exws::{handlers, message};
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::OnceLock;

#[derive(Deserialize)]
struct CalculateRequest {
    numbers: Vec<i64>,
}

#[derive(Serialize)]
struct CalculateResponse {
    result: i64,
}

#[message]
async fn calculate(request: CalculateRequest) -> CalculateResponse {
    CalculateResponse {
        result: request
            .numbers
            .iter()
            .fold(0i64, |sum, n| sum.wrapping_add(*n)),
    }
}

#[message(type = "fail")]
async fn fail(_request: Value) -> Result<bool, String> {
    Err("refused on purpose".to_owned())
}

const PANIC_MESSAGE: &str = "exws-fuzz: a deliberate panic";

#[message(type = "boom")]
async fn boom(_request: Value) -> bool {
    panic!("{PANIC_MESSAGE}")
}

#[message(type = "quiet")]
async fn quiet(_request: Value) {}

#[derive(Deserialize)]
struct Maybe {
    reply: bool,
}

#[message(type = "maybe", reply = "maybe.yes")]
async fn maybe(request: Maybe) -> Option<bool> {
    request.reply.then_some(true)
}

#[message(type = "twice", reply = "twice.a")]
async fn twice_a(_request: Value) -> u8 {
    1
}

#[message(type = "twice", reply = "twice.b")]
async fn twice_b(_request: Value) -> u8 {
    2
}

/// The `Type`s whose handlers may reply nothing.
const SILENT_TYPES: &[&str] = &["quiet", "maybe"];

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

struct Target {
    runtime: tokio::runtime::Runtime,
    harness: FrameHarness,
}

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        // libfuzzer-sys's panic hook aborts on every panic, before unwinding; let the `boom`
        // handler's panic unwind to exws, which catches it. Any other panic still aborts.
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            if message != Some(PANIC_MESSAGE) {
                fuzzer_hook(info);
            }
        }));
        Target {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            harness: FrameHarness::new(handlers![
                calculate, fail, boom, quiet, maybe, twice_a, twice_b
            ])
            .expect("a consistent set of handlers"),
        }
    })
}

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

/// The raw `Id` of a JSON object frame, when it is a valid one (a string or an integer).
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

/// Whether `text` holds a `\uXXXX` escape of a UTF-16 surrogate that is not part of a pair.
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

fn check(frame: &str, replies: &[String]) {
    for reply in replies {
        let value: Value = match serde_json::from_str(reply) {
            Ok(value) => value,
            Err(error) => panic!("invalid JSON sent ({error}): {reply:?} for {frame:?}"),
        };
        assert!(
            value.get("Type").is_some_and(Value::is_string),
            "no string Type in {reply:?} for {frame:?}"
        );
        if value["Type"] == "Error" {
            let code = value["Data"]["code"].as_str().unwrap_or_default();
            assert!(ERROR_CODES.contains(&code), "unknown code in {reply:?}");
            assert!(
                value["Data"]["message"]
                    .as_str()
                    .is_some_and(|message| !message.is_empty()),
                "an error without a message: {reply:?}"
            );
        }
        let echoed = serde_json::from_str::<IdProbe<'_>>(reply)
            .expect("a JSON object")
            .id
            .map(RawValue::get);
        if let Some(echoed) = echoed {
            assert!(
                frame.contains(echoed),
                "the reply's Id {echoed} is not in the request {frame:?}"
            );
        }
        if let Some(id) = request_id(frame) {
            assert_eq!(
                echoed,
                Some(id),
                "the Id is echoed in {reply:?} for {frame:?}"
            );
        }
    }
    if replies.is_empty() {
        let message_type = serde_json::from_str::<TypeProbe<'_>>(frame)
            .ok()
            .map(|probe| probe.message_type);
        assert!(
            message_type.is_some_and(|t| SILENT_TYPES.contains(&&*t)),
            "no answer to {frame:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let target = target();
    let frame = String::from_utf8_lossy(data);
    let replies = target.runtime.block_on(target.harness.dispatch(&frame));
    check(&frame, &replies);
});
