//! `exws contract diff OLD NEW`: what changed between two contracts, and which changes break
//! clients written against the old one.
//!
//! A client sends requests and reads replies, stream items and pushes. So a request must still
//! be accepted (no removed `Type`, no newly required field, no narrower type or enum), and
//! what the server sends must still be what the client reads (no removed `Type`, no removed
//! or newly optional field, no wider type or enum, no `null` where there was none).

use super::document::Document;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashSet};

/// The changes found.
#[derive(Debug, Default)]
pub(super) struct Changes {
    /// Changes that break clients of the old contract.
    pub breaking: Vec<String>,
    /// Changes that old clients do not notice (additions, relaxations).
    pub compatible: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Direction {
    /// Sent by the client: the new server must accept all the old one did.
    Input,
    /// Sent by the server: the client must understand all the new one sends.
    Output,
}

/// Compares two documents.
pub(super) fn diff(old: &Document, new: &Document) -> Result<Changes, String> {
    let before = old.contract()?;
    let after = new.contract()?;
    let mut walk = Walk {
        old,
        new,
        changes: Changes::default(),
        seen: HashSet::new(),
    };
    for (message_type, data) in &before.requests {
        match after.requests.get(message_type) {
            None => walk.breaks(format!("request `{message_type}` was removed")),
            Some(new_data) => {
                walk.compare(
                    &format!("`{message_type}` Data"),
                    data,
                    new_data,
                    Direction::Input,
                    0,
                );
                let was = before.answers.get(message_type).map(String::as_str);
                let is = after.answers.get(message_type).map(String::as_str);
                if was != is {
                    let change = format!(
                        "request `{message_type}` was answered with {} and now with {}",
                        answer(was),
                        answer(is)
                    );
                    // Losing or changing a reply breaks a client that waits for it.
                    if matches!(was, Some("none")) {
                        walk.changes.compatible.push(change);
                    } else {
                        walk.breaks(change);
                    }
                }
            }
        }
    }
    for message_type in after.requests.keys() {
        if !before.requests.contains_key(message_type) {
            walk.changes
                .compatible
                .push(format!("request `{message_type}` was added"));
        }
    }
    for (message_type, data) in &before.events {
        match after.events.get(message_type) {
            None => walk.breaks(format!(
                "the server no longer sends `{message_type}` (a reply, stream item or push)"
            )),
            Some(new_data) => walk.compare(
                &format!("`{message_type}` Data"),
                data,
                new_data,
                Direction::Output,
                0,
            ),
        }
    }
    for message_type in after.events.keys() {
        if !before.events.contains_key(message_type) {
            walk.changes
                .compatible
                .push(format!("the server now also sends `{message_type}`"));
        }
    }
    Ok(walk.changes)
}

fn answer(word: Option<&str>) -> &'static str {
    match word {
        Some("none") => "nothing",
        Some("single") => "one reply",
        Some("optional") => "at most one reply",
        Some("stream") => "a stream",
        Some("room") => "a room subscription",
        Some("mixed") => "the replies of several handlers",
        _ => "an unknown kind of answer",
    }
}

struct Walk<'a> {
    old: &'a Document,
    new: &'a Document,
    changes: Changes,
    /// Named types already compared (recursive types end here).
    seen: HashSet<(String, String, Direction)>,
}

/// A schema, normalised for comparing.
#[derive(Default)]
struct Shape<'a> {
    /// `None`: any type.
    types: Option<BTreeSet<&'static str>>,
    nullable: bool,
    /// The allowed values, when the schema is an enumeration.
    values: Option<BTreeSet<String>>,
    object: Option<&'a Map<String, Value>>,
    items: Option<&'a Value>,
}

fn type_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "string" => "string",
        "integer" => "integer",
        "number" => "number",
        "boolean" => "boolean",
        "object" => "object",
        "array" => "array",
        _ => return None,
    })
}

fn const_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

const COMPONENTS: &str = "#/components/schemas/";

impl<'a> Walk<'a> {
    fn breaks(&mut self, change: String) {
        if !self.changes.breaking.contains(&change) {
            self.changes.breaking.push(change);
        }
    }

    /// Follows `$ref`s into `document`'s named schemas; the last name followed.
    fn resolve<'d>(document: &'d Document, mut schema: &'d Value) -> (&'d Value, Option<String>) {
        let mut name = None;
        for _ in 0..8 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(target) = reference
                .strip_prefix(COMPONENTS)
                .map(|name| name.replace("~1", "/").replace("~0", "~"))
            else {
                break;
            };
            match document.schema(&target) {
                Some(found) => {
                    schema = found;
                    name = Some(target);
                }
                None => break,
            }
        }
        (schema, name)
    }

    fn shape<'d>(document: &'d Document, schema: &'d Value) -> Shape<'d> {
        let (schema, _) = Self::resolve(document, schema);
        let Some(object) = schema.as_object() else {
            return Shape::default();
        };
        let mut shape = Shape::default();
        if let Some(constant) = object.get("const") {
            shape.values = Some(BTreeSet::from([constant.to_string()]));
            shape.types = type_name(const_type(constant)).map(|name| BTreeSet::from([name]));
            shape.nullable = constant.is_null();
            return shape;
        }
        if let Some(Value::Array(values)) = object.get("enum") {
            shape.values = Some(values.iter().map(Value::to_string).collect());
        }
        match object.get("type") {
            Some(Value::String(name)) => {
                shape.nullable = name == "null";
                shape.types = Some(type_name(name).into_iter().collect());
            }
            Some(Value::Array(names)) => {
                let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
                shape.nullable = names.contains(&"null");
                shape.types = Some(names.into_iter().filter_map(type_name).collect());
            }
            _ => {}
        }
        if object.contains_key("properties") {
            shape.object = Some(object);
        }
        shape.items = object.get("items");
        for keyword in ["oneOf", "anyOf"] {
            let Some(Value::Array(options)) = object.get(keyword) else {
                continue;
            };
            let options: Vec<Shape<'d>> = options
                .iter()
                .map(|option| Self::shape(document, option))
                .collect();
            let (nulls, others): (Vec<_>, Vec<_>) = options.into_iter().partition(|option| {
                option.nullable && option.types.as_ref().is_some_and(BTreeSet::is_empty)
            });
            shape.nullable |= !nulls.is_empty();
            if others.iter().all(|option| option.values.is_some()) && !others.is_empty() {
                let values = others
                    .iter()
                    .flat_map(|option| option.values.iter().flatten().cloned())
                    .collect();
                shape.values = Some(values);
                let types = others
                    .iter()
                    .flat_map(|option| option.types.iter().flatten().copied())
                    .collect();
                shape.types.get_or_insert(types);
            } else if others.len() == 1 {
                let only = others.into_iter().next().unwrap_or_default();
                shape.nullable |= only.nullable;
                shape.types = only.types.or(shape.types);
                shape.values = only.values.or(shape.values);
                shape.object = only.object.or(shape.object);
                shape.items = only.items.or(shape.items);
            } else {
                let mut types = BTreeSet::new();
                let mut any = false;
                for option in &others {
                    match &option.types {
                        Some(option_types) => types.extend(option_types.iter().copied()),
                        None => any = true,
                    }
                    shape.nullable |= option.nullable;
                }
                if !any {
                    shape.types = Some(types);
                }
            }
        }
        shape
    }

    fn compare(
        &mut self,
        path: &str,
        old: &Value,
        new: &Value,
        direction: Direction,
        depth: usize,
    ) {
        if depth > 32 {
            return;
        }
        let (_, old_name) = Self::resolve(self.old, old);
        let (_, new_name) = Self::resolve(self.new, new);
        if let (Some(old_name), Some(new_name)) = (&old_name, &new_name) {
            if !self
                .seen
                .insert((old_name.clone(), new_name.clone(), direction))
            {
                return;
            }
        }
        let before = Self::shape(self.old, old);
        let after = Self::shape(self.new, new);

        if let (Some(was), Some(is)) = (&before.types, &after.types) {
            let covered = |wide: &BTreeSet<&str>, narrow: &BTreeSet<&str>| {
                narrow.iter().all(|name| {
                    wide.contains(name) || (*name == "integer" && wide.contains("number"))
                })
            };
            let broken = match direction {
                Direction::Input => !covered(is, was),
                Direction::Output => !covered(was, is),
            };
            if broken {
                self.breaks(format!(
                    "{path}: the type changed from {} to {}",
                    list(was),
                    list(is)
                ));
                return;
            }
        } else if direction == Direction::Output && before.types.is_some() && after.types.is_none()
        {
            self.breaks(format!("{path}: may now be of any type"));
        }
        match direction {
            Direction::Input if before.nullable && !after.nullable => {
                self.breaks(format!("{path}: null is no longer accepted"));
            }
            Direction::Output if after.nullable && !before.nullable => {
                self.breaks(format!("{path}: may now be null"));
            }
            _ => {}
        }
        match (&before.values, &after.values, direction) {
            (Some(was), Some(is), Direction::Input) => {
                let gone: Vec<_> = was.difference(is).cloned().collect();
                if !gone.is_empty() {
                    self.breaks(format!("{path}: no longer accepts {}", gone.join(", ")));
                }
            }
            (Some(was), Some(is), Direction::Output) => {
                let added: Vec<_> = is.difference(was).cloned().collect();
                if !added.is_empty() {
                    self.breaks(format!("{path}: may now be {}", added.join(", ")));
                }
            }
            (Some(_), None, Direction::Output) => {
                self.breaks(format!("{path}: is no longer limited to a set of values"));
            }
            (None, Some(_), Direction::Input) => {
                self.breaks(format!("{path}: now accepts only a set of values"));
            }
            _ => {}
        }
        if let (Some(was), Some(is)) = (before.object, after.object) {
            self.compare_objects(path, was, is, direction, depth);
        }
        if let (Some(was), Some(is)) = (before.items, after.items) {
            self.compare(&format!("{path}[]"), was, is, direction, depth + 1);
        }
    }

    fn compare_objects(
        &mut self,
        path: &str,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        direction: Direction,
        depth: usize,
    ) {
        let required = |object: &Map<String, Value>| -> BTreeSet<String> {
            object
                .get("required")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let empty = Map::new();
        let (old_required, new_required) = (required(old), required(new));
        let (old_fields, new_fields) = (
            properties_of(old).unwrap_or(&empty),
            properties_of(new).unwrap_or(&empty),
        );
        let closed = new.get("additionalProperties") == Some(&Value::Bool(false));
        for (field, old_schema) in old_fields {
            let at = format!("{path}.{field}");
            match new_fields.get(field) {
                None => match direction {
                    Direction::Output if old_required.contains(field) => {
                        self.breaks(format!("{at}: the field was removed"))
                    }
                    Direction::Output => self.breaks(format!(
                        "{at}: the optional field was removed (clients reading it get nothing)"
                    )),
                    Direction::Input if closed => self.breaks(format!(
                        "{at}: the field was removed and unknown fields are refused"
                    )),
                    Direction::Input => self.changes.compatible.push(format!(
                        "{at}: the field was removed (the server ignores it)"
                    )),
                },
                Some(new_schema) => {
                    match direction {
                        Direction::Input
                            if new_required.contains(field) && !old_required.contains(field) =>
                        {
                            self.breaks(format!("{at}: the field became required"))
                        }
                        Direction::Output
                            if old_required.contains(field) && !new_required.contains(field) =>
                        {
                            self.breaks(format!("{at}: the field may now be absent"))
                        }
                        _ => {}
                    }
                    self.compare(&at, old_schema, new_schema, direction, depth + 1);
                }
            }
        }
        for field in new_fields.keys() {
            if old_fields.contains_key(field) {
                continue;
            }
            let at = format!("{path}.{field}");
            if direction == Direction::Input && new_required.contains(field) {
                self.breaks(format!("{at}: a new required field"));
            } else if direction == Direction::Input {
                self.changes
                    .compatible
                    .push(format!("{at}: a new optional field"));
            } else {
                self.changes.compatible.push(format!("{at}: a new field"));
            }
        }
    }
}

fn properties_of(object: &Map<String, Value>) -> Option<&Map<String, Value>> {
    object.get("properties").and_then(Value::as_object)
}

fn list(types: &BTreeSet<&str>) -> String {
    if types.is_empty() {
        return "null".to_owned();
    }
    types.iter().copied().collect::<Vec<_>>().join(" or ")
}
