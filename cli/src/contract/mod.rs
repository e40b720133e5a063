//! `exws codegen typescript` and `exws contract diff`: the server's contract (its AsyncAPI
//! document, `GET /asyncapi.json` with exws's `schema` feature) turned into TypeScript
//! declarations, and two versions of it compared.

mod diff;
mod document;
mod fetch;
mod typescript;

use crate::args::{CodegenArgs, DiffArgs};
use crate::exit::{Failure, BREAKING, USAGE};
use document::Document;
use std::time::Duration;

/// `exws codegen typescript URL_OR_FILE [--out FILE]`.
pub(crate) async fn codegen_typescript(
    args: CodegenArgs,
    timeout: Duration,
) -> Result<(), Failure> {
    let document = load(&args.source, timeout).await?;
    let declarations = typescript::generate(&document)
        .map_err(|reason| Failure::new(USAGE, format!("{}: {reason}", args.source)))?;
    match &args.out {
        Some(path) => std::fs::write(path, declarations).map_err(|error| {
            Failure::new(USAGE, format!("cannot write {}: {error}", path.display()))
        }),
        None => {
            print!("{declarations}");
            Ok(())
        }
    }
}

/// `exws contract diff OLD NEW`: prints the changes; breaking ones make the exit code 1.
pub(crate) async fn contract_diff(args: DiffArgs, timeout: Duration) -> Result<(), Failure> {
    let old = load(&args.old, timeout).await?;
    let new = load(&args.new, timeout).await?;
    let changes = diff::diff(&old, &new)
        .map_err(|reason| Failure::new(USAGE, format!("cannot compare: {reason}")))?;
    for change in &changes.breaking {
        println!("breaking: {change}");
    }
    for change in &changes.compatible {
        println!("compatible: {change}");
    }
    match changes.breaking.len() {
        0 => {
            println!(
                "no breaking change ({} compatible)",
                changes.compatible.len()
            );
            Ok(())
        }
        count => Err(Failure::new(
            BREAKING,
            format!(
                "{count} breaking change{} for clients of {}",
                if count == 1 { "" } else { "s" },
                args.old
            ),
        )),
    }
}

/// A document from a file, or from a server over plain HTTP (`http://`, `ws://`: the
/// server's `/asyncapi.json` when the URL has no path).
async fn load(source: &str, timeout: Duration) -> Result<Document, Failure> {
    let text = if fetch::is_url(source) {
        fetch::get(source, timeout).await?
    } else {
        std::fs::read_to_string(source)
            .map_err(|error| Failure::new(USAGE, format!("cannot read {source}: {error}")))?
    };
    Document::parse(&text).map_err(|reason| Failure::new(USAGE, format!("{source}: {reason}")))
}
