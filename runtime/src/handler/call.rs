//! One call of a handler: the incoming `Data`, the connection's context, the `Id` to echo.

use super::Outcome;
use crate::context::Context;
use crate::extract::Rejection;
use crate::protocol::ReplyTo;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// What a generated handler returns: the running handler, or a rejection before it ran.
pub type CallResult = Result<Pin<Box<dyn Future<Output = Outcome> + Send>>, Rejection>;

/// The input of one handler call. Used by the code `#[message]` generates.
#[doc(hidden)]
#[derive(Debug)]
pub struct Call<'a> {
    pub(crate) message_type: &'a str,
    pub(crate) data: &'a str,
    pub(crate) context: &'a Context,
    pub(crate) reply_to: &'a ReplyTo,
}

impl Call<'_> {
    /// Decodes `Data` straight from the frame's text into the request type.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, Rejection> {
        match serde_json::from_str(self.data) {
            Ok(value) => Ok(value),
            // Absent `Data` is `null`; a request struct whose fields are all optional (or that
            // has none, like `struct Ping {}`) reads it as an empty object.
            Err(_) if self.data == "null" => match serde_json::from_str("{}") {
                Ok(value) => Ok(value),
                Err(error) => Err(Rejection::invalid_data(describe(
                    self.message_type,
                    ".",
                    &error,
                ))),
            },
            // Only a failed decode pays for tracking the path to the failing field.
            Err(error) => {
                let mut deserializer = serde_json::Deserializer::from_str(self.data);
                let message = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
                    Err(path_error) => describe(
                        self.message_type,
                        &path_error.path().to_string(),
                        path_error.inner(),
                    ),
                    Ok(_) => describe(self.message_type, ".", &error),
                };
                Err(Rejection::invalid_data(message))
            }
        }
    }

    /// The connection's context, for the extractors.
    pub fn context(&self) -> Context {
        self.context.clone()
    }

    /// The `Id` the replies echo.
    pub fn reply_to(&self) -> ReplyTo {
        self.reply_to.clone()
    }
}

fn describe(message_type: &str, path: &str, error: &serde_json::Error) -> String {
    let text = error.to_string();
    let detail = crate::protocol::strip_position(&text);
    if path == "." {
        format!("invalid `Data` for \"{message_type}\": {detail}")
    } else {
        format!("invalid `Data` for \"{message_type}\" at `{path}`: {detail}")
    }
}
