//! What must hold before a document is made: every handler has the schemas its role needs,
//! and no push `Type` is declared twice.

use super::super::{ContractError, Declared, MissingSchema};
use crate::handler::schema::HandlerSchemas;
use crate::handler::HandlerInfo;
use crate::handler::ReplyKind;

/// Every handler with its schemas, or the list of every schema that is missing.
pub(super) fn described<'a>(
    handlers: &[&'a HandlerInfo],
) -> Result<Vec<(&'a HandlerInfo, HandlerSchemas)>, ContractError> {
    let mut missing = Vec::new();
    let described: Vec<_> = handlers
        .iter()
        .map(|info| {
            let schemas = info.schemas();
            let handler = format!("{}::{}", info.module_path(), info.function());
            if schemas.request.is_none() {
                missing.push(MissingSchema {
                    handler: handler.clone(),
                    role: "request",
                    rust_type: info.request_type().to_owned(),
                });
            }
            let role = match info.reply_kind() {
                ReplyKind::Single { .. } | ReplyKind::Optional { .. } => Some("reply"),
                ReplyKind::Stream { .. } => Some("stream item"),
                _ => None,
            };
            if let (Some(role), None) = (role, schemas.reply) {
                missing.push(MissingSchema {
                    handler,
                    role,
                    rust_type: info.reply_type().unwrap_or_default().to_owned(),
                });
            }
            (*info, schemas)
        })
        .collect();
    if missing.is_empty() {
        Ok(described)
    } else {
        Err(ContractError::MissingSchemas(missing))
    }
}

/// Refuses a push `Type` declared twice, naming both Rust types.
pub(super) fn distinct_pushes(declared: &Declared) -> Result<(), ContractError> {
    for (index, push) in declared.pushes.iter().enumerate() {
        if let Some(first) = declared.pushes[..index]
            .iter()
            .find(|other| other.message_type == push.message_type)
        {
            return Err(ContractError::DuplicatePush {
                message_type: push.message_type.to_string(),
                first: first.rust_type,
                second: push.rust_type,
            });
        }
    }
    Ok(())
}
