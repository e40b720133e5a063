//! The JSON Schemas of a contract: requests as they are deserialized, replies and pushes as they
//! are serialized, with every named type once under `#/components/schemas`.

use crate::handler::schema::SchemaFn;
use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{Map, Value};

/// Where named types live in the document, and where `$ref`s point.
pub(crate) const COMPONENTS: &str = "/components/schemas";

/// Two generators: a type may read differently than it writes (`#[serde(default)]` fields are
/// optional in a request and always present in a reply).
pub(crate) struct Schemas {
    input: SchemaGenerator,
    output: SchemaGenerator,
    /// Schemas of replies and pushes made so far: their `$ref`s may need renaming at the end.
    outputs: Vec<Value>,
}

impl Schemas {
    pub(crate) fn new() -> Self {
        let settings = || {
            SchemaSettings::draft2020_12().with(|settings| {
                settings.definitions_path = COMPONENTS.into();
                settings.meta_schema = None;
            })
        };
        Schemas {
            input: settings().for_deserialize().into_generator(),
            output: settings().for_serialize().into_generator(),
            outputs: Vec::new(),
        }
    }

    /// The schema of a request's `Data`.
    pub(crate) fn input(&mut self, schema: SchemaFn) -> Value {
        schema(&mut self.input).to_value()
    }

    /// The schema of a reply's, item's or push's `Data`: an index for [`Finished::output`].
    pub(crate) fn output(&mut self, schema: SchemaFn) -> usize {
        let value = schema(&mut self.output).to_value();
        self.outputs.push(value);
        self.outputs.len() - 1
    }

    /// Every named type, once. A type whose output schema differs from its input schema gets
    /// a second entry, `<Name>.Output`, and the output schemas refer to that one.
    pub(crate) fn finish(mut self) -> Finished {
        let mut components = self.input.take_definitions(true);
        let mut outputs_defs = self.output.take_definitions(true);
        let mut renames: Vec<(String, String)> = Vec::new();
        for (name, schema) in outputs_defs.iter() {
            if let Some(existing) = components.get(name) {
                if existing != schema {
                    let mut renamed = format!("{name}.Output");
                    while components.contains_key(&renamed) || outputs_defs.contains_key(&renamed) {
                        renamed.push('_');
                    }
                    renames.push((name.clone(), renamed));
                }
            }
        }
        let rename = |value: &mut Value| {
            for (from, to) in &renames {
                rewrite_refs(value, &reference(from), &reference(to));
            }
        };
        for schema in outputs_defs.values_mut() {
            rename(schema);
        }
        for schema in &mut self.outputs {
            rename(schema);
        }
        for (name, schema) in outputs_defs {
            let name = match renames.iter().find(|(from, _)| *from == name) {
                Some((_, to)) => to.clone(),
                None => name,
            };
            components.entry(name).or_insert(schema);
        }
        Finished {
            components,
            outputs: self.outputs,
        }
    }
}

/// The schemas, their named types settled.
pub(crate) struct Finished {
    pub components: Map<String, Value>,
    outputs: Vec<Value>,
}

impl Finished {
    pub(crate) fn output(&self, index: usize) -> Value {
        self.outputs
            .get(index)
            .cloned()
            .unwrap_or(Value::Bool(true))
    }
}

/// The `$ref` of a named type.
pub(crate) fn reference(name: &str) -> String {
    format!("#{COMPONENTS}/{}", escape_pointer(name))
}

/// A JSON pointer segment (RFC 6901).
fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn rewrite_refs(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "$ref" && child.as_str() == Some(from) {
                    *child = Value::String(to.to_owned());
                } else {
                    rewrite_refs(child, from, to);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_refs(item, from, to);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refs_are_rewritten_everywhere_but_only_when_equal() {
        let mut value = json!({"a": {"$ref": "#/components/schemas/T"}, "b": [{"$ref": "#/components/schemas/Tx"}]});
        rewrite_refs(
            &mut value,
            "#/components/schemas/T",
            "#/components/schemas/T.Output",
        );
        assert_eq!(
            value,
            json!({"a": {"$ref": "#/components/schemas/T.Output"}, "b": [{"$ref": "#/components/schemas/Tx"}]})
        );
        assert_eq!(reference("a/b~c"), "#/components/schemas/a~1b~0c");
    }
}
