//! An exws AsyncAPI document, read: its named schemas, and what each operation takes and
//! answers, by `Type` (the layout `Server::asyncapi` writes: see exws's `contract` module).

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A parsed document.
pub(super) struct Document {
    root: Value,
}

/// The messages of a server by `Type`: what `Data` each carries.
#[derive(Debug, Default)]
pub(super) struct Contract {
    /// Request `Type` → its `Data`.
    pub requests: BTreeMap<String, Value>,
    /// Request `Type` answered with one reply → the reply's `Data`.
    pub replies: BTreeMap<String, Value>,
    /// Request `Type` answered with a stream → the items' `Data`.
    pub streams: BTreeMap<String, Value>,
    /// Every `Type` the server sends → its `Data`.
    pub events: BTreeMap<String, Value>,
    /// Request `Type` → what it gets back: `none`, `single`, `optional`, `stream`, `room`,
    /// `mixed` (several handlers).
    pub answers: BTreeMap<String, String>,
    /// Request or pushed `Type` → the operation's description (the handler's doc comment).
    pub docs: BTreeMap<String, String>,
    /// `Type` of a call the server makes to the client → the call's `Data`.
    pub calls: BTreeMap<String, Value>,
    /// `Type` of a call the server makes → the `Data` of the client's `Answer`.
    pub call_answers: BTreeMap<String, Value>,
}

impl Document {
    /// Reads a document from its JSON text, checking that it is an AsyncAPI 3 document.
    pub(super) fn parse(text: &str) -> Result<Document, String> {
        let root: Value =
            serde_json::from_str(text).map_err(|error| format!("not valid JSON: {error}"))?;
        match root.get("asyncapi").and_then(Value::as_str) {
            Some(version) if version.starts_with("3.") => Ok(Document { root }),
            Some(version) => Err(format!(
                "an AsyncAPI {version} document; exws writes AsyncAPI 3 (`Server::asyncapi`)"
            )),
            None => Err("not an AsyncAPI document (no `asyncapi` version field)".to_owned()),
        }
    }

    /// `info.title`, or a stand-in.
    pub(super) fn title(&self) -> String {
        let info = &self.root["info"];
        match (info["title"].as_str(), info["version"].as_str()) {
            (Some(title), Some(version)) => format!("{title} {version}"),
            (Some(title), None) => title.to_owned(),
            _ => "an exws server".to_owned(),
        }
    }

    /// The named schemas, by name.
    pub(super) fn schemas(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.root["components"]["schemas"]
            .as_object()
            .into_iter()
            .flat_map(|schemas| schemas.iter())
    }

    pub(super) fn schema_names(&self) -> impl Iterator<Item = &str> {
        self.schemas().map(|(name, _)| name.as_str())
    }

    /// The named schema `name`.
    pub(super) fn schema(&self, name: &str) -> Option<&Value> {
        self.root["components"]["schemas"].get(name)
    }

    /// What `reference` (`#/a/b`) points at, following `$ref`s on the way (at most a few).
    fn resolve<'a>(&'a self, mut value: &'a Value) -> Option<&'a Value> {
        for _ in 0..8 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Some(value);
            };
            let pointer = reference.strip_prefix('#')?;
            value = self.root.pointer(pointer)?;
        }
        None
    }

    /// The `Type` and `Data` schema (`None`: no `Data`) of a message reference.
    fn message(&self, reference: &Value) -> Option<(String, Option<Value>)> {
        let message = self.resolve(reference)?;
        let payload = self.resolve(message.get("payload")?)?;
        let properties = payload.get("properties")?;
        let message_type = properties["Type"]["const"]
            .as_str()
            .or_else(|| message["name"].as_str())?
            .to_owned();
        Some((message_type, properties.get("Data").cloned()))
    }

    /// The messages an operation's `messages` (or `reply.messages`) list.
    fn messages_of(&self, list: &Value) -> Vec<(String, Option<Value>)> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|reference| self.message(reference))
            .collect()
    }

    /// The operations by request or pushed `Type`.
    pub(super) fn contract(&self) -> Result<Contract, String> {
        let operations = self.root["operations"]
            .as_object()
            .ok_or("the document has no `operations`")?;
        let mut contract = Contract::default();
        let mut events: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for operation in operations.values() {
            let action = operation["action"].as_str().unwrap_or_default();
            let word = operation["x-exws-reply"].as_str().unwrap_or("single");
            let sent = self.messages_of(&operation["messages"]);
            if let Some(doc) = operation["description"].as_str() {
                for (message_type, _) in &sent {
                    contract.docs.insert(message_type.clone(), doc.to_owned());
                }
            }
            if action == "send" && word == "answer" {
                // A call the server makes: the client answers it with `Answer`.
                let answer = self
                    .messages_of(&operation["reply"]["messages"])
                    .into_iter()
                    .find(|(message_type, _)| message_type == exws_client::ANSWER_TYPE)
                    .and_then(|(_, data)| data)
                    .unwrap_or(Value::Bool(true));
                for (message_type, data) in sent {
                    contract
                        .calls
                        .insert(message_type.clone(), data.unwrap_or(Value::Bool(true)));
                    contract.call_answers.insert(message_type, answer.clone());
                }
                continue;
            }
            if action == "send" {
                for (message_type, data) in sent {
                    events
                        .entry(message_type)
                        .or_default()
                        .push(data.unwrap_or(Value::Null));
                }
                continue;
            }
            if word == "cancel" {
                continue;
            }
            let replies = self.messages_of(&operation["reply"]["messages"]);
            let mut answers = Vec::new();
            for (message_type, data) in replies {
                let Some(data) = data else { continue };
                if message_type != exws_client::ERROR_TYPE {
                    answers.push(data.clone());
                }
                let datas = events.entry(message_type).or_default();
                if !datas.contains(&data) {
                    datas.push(data);
                }
            }
            let answer = match answers.len() {
                0 => None,
                1 => Some(answers.remove(0)),
                _ => Some(json!({ "oneOf": answers })),
            };
            for (message_type, data) in sent {
                contract
                    .requests
                    .insert(message_type.clone(), data.unwrap_or(Value::Bool(true)));
                contract
                    .answers
                    .insert(message_type.clone(), word.to_owned());
                match (word, &answer) {
                    ("room", _) => {
                        contract.streams.insert(message_type, Value::Bool(true));
                    }
                    ("none", _) | (_, None) => {}
                    ("stream", Some(answer)) => {
                        contract.streams.insert(message_type, answer.clone());
                    }
                    (_, Some(answer)) => {
                        contract.replies.insert(message_type, answer.clone());
                    }
                }
            }
        }
        contract.events = events
            .into_iter()
            .map(|(message_type, mut datas)| {
                let data = if datas.len() == 1 {
                    datas.remove(0)
                } else {
                    json!({ "oneOf": datas })
                };
                (message_type, data)
            })
            .collect();
        Ok(contract)
    }
}
