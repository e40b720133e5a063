//! Answering the server's calls: `{"Type": T, "Data": D, "Call": n}` in, `{"Type": "Answer",
//! "Call": n, "Data": R}` or `{"Type": "AnswerError", "Call": n, "Data": {"code", "message"}}`
//! out.

use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};

/// The `Type` of an answer to a server call.
pub const ANSWER_TYPE: &str = "Answer";
/// The `Type` of a refused server call.
pub const ANSWER_ERROR_TYPE: &str = "AnswerError";

type Handler = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<Value, String>> + Send + Sync>;

/// The client's handlers of server calls, by `Type`.
#[derive(Default)]
pub(crate) struct CallHandlers(RwLock<HashMap<String, Handler>>);

/// A call from the server.
#[derive(Deserialize)]
struct ServerCall {
    #[serde(rename = "Type")]
    message_type: String,
    #[serde(rename = "Data", default)]
    data: Value,
    #[serde(rename = "Call")]
    call: u64,
}

impl CallHandlers {
    pub(crate) fn insert<Req, Resp, E, F, Fut>(&self, message_type: &str, handler: F)
    where
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize,
        E: Display,
        F: Fn(Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, E>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let erased: Handler = Arc::new(move |data: Value| {
            let handler = handler.clone();
            Box::pin(async move {
                let request: Req = serde_json::from_value(data)
                    .map_err(|error| format!("invalid_data: {error}"))?;
                let response = handler(request)
                    .await
                    .map_err(|error| format!("handler_error: {error}"))?;
                serde_json::to_value(response).map_err(|error| {
                    format!("handler_error: the answer could not be serialized: {error}")
                })
            })
        });
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(message_type.to_owned(), erased);
    }

    /// When `text` is a server call, the future of its answer frame.
    pub(crate) fn answer(&self, text: &str) -> Option<BoxFuture<'static, String>> {
        if !text.contains("\"Call\"") {
            return None;
        }
        let call: ServerCall = serde_json::from_str(text).ok()?;
        let handler = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&call.message_type)
            .cloned();
        Some(Box::pin(async move {
            let outcome = match handler {
                Some(handler) => handler(call.data).await,
                None => Err(format!(
                    "unknown_type: this client does not answer {:?}",
                    call.message_type
                )),
            };
            let envelope = match outcome {
                Ok(data) => json!({ "Type": ANSWER_TYPE, "Call": call.call, "Data": data }),
                Err(failure) => {
                    let (code, message) = failure
                        .split_once(": ")
                        .unwrap_or(("handler_error", failure.as_str()));
                    json!({
                        "Type": ANSWER_ERROR_TYPE,
                        "Call": call.call,
                        "Data": { "code": code, "message": message },
                    })
                }
            };
            envelope.to_string()
        }))
    }
}
