//! exws's own schemas under `components/schemas` (the envelope, `Id`, the `Error` data and its
//! codes), and reading a type's doc comment back from the schemas.

use super::super::schemas::{reference, COMPONENTS};
use super::{ENVELOPE, ERROR_CODE, ERROR_DATA, ID};
use crate::protocol::ErrorCode;
use serde_json::{json, Map, Value};

/// A reference to the named schema under `components/schemas`.
pub(super) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": reference(name) })
}

/// Adds exws's own schemas to the handlers' named types.
pub(super) fn add_exws_schemas(components: &mut Map<String, Value>) {
    components.insert(ENVELOPE.to_owned(), envelope_schema());
    components.insert(
        ID.to_owned(),
        json!({
            "description": "A correlation id chosen by the client; replies, errors and stream \
                            items carry it back unchanged.",
            "type": ["string", "integer"],
        }),
    );
    components.insert(ERROR_CODE.to_owned(), error_code_schema());
    components.insert(
        ERROR_DATA.to_owned(),
        json!({
            "type": "object",
            "properties": {
                "code": schema_ref(ERROR_CODE),
                "message": { "type": "string", "description": "For people; may change between versions." },
                "type": { "type": "string", "description": "The offending message `Type`, when it is known." },
            },
            "required": ["code", "message"],
        }),
    );
}

/// The doc comment of the type a schema stands for: its own `description`, or that of the
/// named type it refers to.
pub(super) fn type_doc(components: &Map<String, Value>, schema: &Value) -> Option<String> {
    if let Some(description) = schema.get("description").and_then(Value::as_str) {
        return Some(description.to_owned());
    }
    let name = schema
        .get("$ref")?
        .as_str()?
        .strip_prefix(&format!("#{COMPONENTS}/"))?;
    let name = name.replace("~1", "/").replace("~0", "~");
    components
        .get(&name)?
        .get("description")?
        .as_str()
        .map(str::to_owned)
}

/// The envelope, described once; every message's payload is this with its `Type` and `Data`.
fn envelope_schema() -> Value {
    json!({
        "description": "One JSON object per WebSocket text frame. Unknown extra fields are ignored.",
        "type": "object",
        "properties": {
            "Type": { "type": "string", "description": "The message type." },
            "Data": { "description": "The payload; absent means null." },
            "Id": schema_ref(ID),
        },
        "required": ["Type"],
    })
}

/// Every protocol error code with its description.
fn error_code_schema() -> Value {
    let codes: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|code| json!({ "const": code.as_str(), "description": code.description() }))
        .collect();
    json!({
        "description": "The stable `code` of an `Error` envelope; a newer server may send others.",
        "type": "string",
        "oneOf": codes,
    })
}
