//! The JetStream API calls the adapter makes, as plain NATS requests with JSON bodies (the
//! API of `nats-server` 2.9 and later): creating the state stream, writing an entry (a publish
//! acknowledged by the stream), reading the subjects that match a filter, reading one entry,
//! and purging entries.

use crate::adapter::AdapterError;
use async_nats::{Client, StatusCode};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

/// The most subjects `STREAM.INFO` lists per page (the server's `JSMaxSubjectDetails`).
const PAGE: u64 = 100_000;

/// JetStream's "stream name already in use" (created before, with other settings).
const STREAM_NAME_IN_USE: u64 = 10058;

/// The JetStream API of one stream, over one client.
#[derive(Clone)]
pub(super) struct JetStream {
    client: Client,
    stream: String,
    timeout: Duration,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct InfoReply {
    #[serde(default)]
    error: Option<ApiError>,
    #[serde(default)]
    state: Option<StreamState>,
    #[serde(default)]
    total: u64,
}

#[derive(Deserialize)]
struct StreamState {
    #[serde(default)]
    last_seq: u64,
    #[serde(default)]
    subjects: Option<HashMap<String, u64>>,
}

/// The subjects that matched a filter, and the stream's last sequence when they were read.
pub(super) struct Subjects {
    pub names: Vec<String>,
    pub last_seq: u64,
}

impl JetStream {
    pub(super) fn new(client: Client, stream: String, timeout: Duration) -> Self {
        JetStream {
            client,
            stream,
            timeout,
        }
    }

    /// One API request, bounded by the command timeout.
    async fn request(
        &self,
        subject: String,
        body: Bytes,
    ) -> Result<async_nats::Message, AdapterError> {
        let subject_shown = subject.clone();
        match tokio::time::timeout(self.timeout, self.client.request(subject, body)).await {
            Ok(Ok(message)) => Ok(message),
            Ok(Err(error)) if error.kind() == async_nats::RequestErrorKind::NoResponders => {
                Err(AdapterError::Unavailable(format!(
                    "nothing in NATS answers {subject_shown}: is JetStream enabled \
                     (`nats-server -js`), and the state stream there (it is created again \
                     on reconnection)?"
                )))
            }
            Ok(Err(error)) => Err(AdapterError::Unavailable(format!(
                "NATS request failed: {error}"
            ))),
            Err(_) => Err(AdapterError::Unavailable(format!(
                "NATS did not answer within {:?}",
                self.timeout
            ))),
        }
    }

    /// Creates the state stream (memory storage, one message per subject) unless it exists.
    pub(super) async fn ensure_stream(
        &self,
        subjects: &str,
        replicas: usize,
    ) -> Result<(), AdapterError> {
        let config = json!({
            "name": self.stream,
            "subjects": [subjects],
            "retention": "limits",
            "storage": "memory",
            "discard": "old",
            "max_msgs_per_subject": 1,
            "max_msgs": -1,
            "max_bytes": -1,
            "max_age": 0,
            "num_replicas": replicas,
            "allow_direct": true,
        });
        let reply = self
            .request(
                format!("$JS.API.STREAM.CREATE.{}", self.stream),
                Bytes::from(config.to_string()),
            )
            .await?;
        match parse::<Reply>(&reply.payload)?.error {
            None => Ok(()),
            Some(error) if error.err_code == STREAM_NAME_IN_USE => Ok(()),
            Some(error) => Err(api_error("creating the state stream", error)),
        }
    }

    /// Writes an entry: a message on `subject`, acknowledged once the stream holds it.
    pub(super) async fn put(&self, subject: String, payload: Bytes) -> Result<(), AdapterError> {
        let reply = self.request(subject, payload).await?;
        match parse::<Reply>(&reply.payload)?.error {
            None => Ok(()),
            Some(error) => Err(api_error("writing to the state stream", error)),
        }
    }

    /// The subjects matching `filter` (all of them, page by page).
    pub(super) async fn subjects(&self, filter: &str) -> Result<Subjects, AdapterError> {
        let mut names = Vec::new();
        let mut last_seq = None;
        loop {
            let offset = names.len() as u64;
            let info = self.info(filter, offset).await?;
            let state = info.state.unwrap_or(StreamState {
                last_seq: 0,
                subjects: None,
            });
            let last = *last_seq.get_or_insert(state.last_seq);
            let page = state.subjects.unwrap_or_default();
            let got = page.len();
            names.extend(page.into_keys());
            if got == 0 || names.len() as u64 >= info.total {
                return Ok(Subjects {
                    names,
                    last_seq: last,
                });
            }
        }
    }

    /// How many subjects match `filter`, without listing them (a page past the end).
    pub(super) async fn count(&self, filter: &str) -> Result<usize, AdapterError> {
        let info = self.info(filter, u64::from(u32::MAX)).await?;
        Ok(usize::try_from(info.total).unwrap_or(usize::MAX))
    }

    async fn info(&self, filter: &str, offset: u64) -> Result<InfoReply, AdapterError> {
        let body = json!({"subjects_filter": filter, "offset": offset});
        let reply = self
            .request(
                format!("$JS.API.STREAM.INFO.{}", self.stream),
                Bytes::from(body.to_string()),
            )
            .await?;
        let mut info = parse::<InfoReply>(&reply.payload)?;
        if let Some(error) = info.error.take() {
            return Err(api_error("reading the state stream", error));
        }
        if info.total == 0 {
            info.total = info
                .state
                .as_ref()
                .and_then(|state| state.subjects.as_ref())
                .map_or(0, |subjects| subjects.len() as u64)
                .min(PAGE);
        }
        Ok(info)
    }

    /// The payload of the entry on `subject`, if there is one.
    pub(super) async fn get(&self, subject: &str) -> Result<Option<Bytes>, AdapterError> {
        let body = json!({ "last_by_subj": subject });
        let reply = self
            .request(
                format!("$JS.API.DIRECT.GET.{}", self.stream),
                Bytes::from(body.to_string()),
            )
            .await?;
        match reply.status {
            None | Some(StatusCode::OK) => Ok(Some(reply.payload)),
            Some(StatusCode::NOT_FOUND) => Ok(None),
            Some(status) => Err(AdapterError::Unavailable(format!(
                "reading the state stream failed: {status} {}",
                reply.description.unwrap_or_default()
            ))),
        }
    }

    /// Removes the entries matching `filter`; with `before`, only those written before that
    /// stream sequence (entries written back since then stay).
    pub(super) async fn purge(
        &self,
        filter: &str,
        before: Option<u64>,
    ) -> Result<(), AdapterError> {
        let body = match before {
            Some(seq) => json!({ "filter": filter, "seq": seq }),
            None => json!({ "filter": filter }),
        };
        let reply = self
            .request(
                format!("$JS.API.STREAM.PURGE.{}", self.stream),
                Bytes::from(body.to_string()),
            )
            .await?;
        match parse::<Reply>(&reply.payload)?.error {
            None => Ok(()),
            Some(error) => Err(api_error("removing from the state stream", error)),
        }
    }
}

fn parse<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, AdapterError> {
    serde_json::from_slice(payload).map_err(|error| {
        AdapterError::Unavailable(format!("an unreadable JetStream API reply: {error}"))
    })
}

fn api_error(what: &str, error: ApiError) -> AdapterError {
    AdapterError::Unavailable(format!(
        "{what} failed: {} (JetStream error {})",
        error.description, error.err_code
    ))
}
