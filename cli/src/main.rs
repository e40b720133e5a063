//! `exws`: call, send to and listen on exws servers from the command line.
//!
//! ```text
//! exws call   URL TYPE [DATA_JSON]   print the reply's Data as compact JSON
//! exws send   URL TYPE [DATA_JSON]   fire and forget
//! exws stream URL TYPE [DATA_JSON]   print each stream item's Data as a JSON line
//! exws listen URL [--send TYPE DATA_JSON]... [--idle SECS|never] [--resume]   print every
//!                                    incoming envelope as a JSON line
//! exws codegen typescript URL_OR_FILE [--out FILE]   TypeScript declarations of a contract
//! exws contract diff OLD NEW     the changes between two contracts; exit 1 on a breaking one
//! exws gateway [--ws-port 8080] [--tcp-port 8081] ...   a PyStrands-compatible gateway
//! ```
//!
//! Exit codes: 0 success, 1 server `Error` reply, 2 usage, 3 connection failure, 4 timeout,
//! 5 the `Type` answers in the other way (`call` on a stream, `stream` on one reply),
//! 130 `stream` interrupted by Ctrl-C (the stream cancelled).
//! Logs of the client go to stderr when `RUST_LOG` is set (e.g. `RUST_LOG=exws_client=debug`).

mod args;
mod commands;
mod contract;
mod exit;
mod gateway;

use args::{Cli, Command, GlobalOptions, DEFAULT_TIMEOUT};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The gateway serves many connections: every core, and logs at `info` by default.
    let serving = matches!(cli.command, Command::Gateway(_));
    let mut builder = if serving {
        init_gateway_logs();
        tokio::runtime::Builder::new_multi_thread()
    } else {
        init_logs();
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            return exit::Failure::new(exit::CONNECTION, format!("cannot start: {error}")).report()
        }
    };
    let result = runtime.block_on(async {
        let global = cli.global;
        match cli.command {
            Command::Call(args) => commands::call(&global.merged(&args.options), args).await,
            Command::Send(args) => commands::send(&global.merged(&args.options), args).await,
            Command::Stream(args) => commands::stream(&global.merged(&args.options), args).await,
            Command::Listen(args) => commands::listen(&global.merged(&args.options), args).await,
            Command::Codegen(args::Codegen::Typescript(args)) => {
                only_timeout(&global, "codegen")?;
                let timeout = args.timeout.or(global.timeout).unwrap_or(DEFAULT_TIMEOUT);
                contract::codegen_typescript(args, timeout).await
            }
            Command::Contract(args::ContractCommand::Diff(args)) => {
                only_timeout(&global, "contract")?;
                let timeout = args.timeout.or(global.timeout).unwrap_or(DEFAULT_TIMEOUT);
                contract::contract_diff(args, timeout).await
            }
            Command::Gateway(args) => {
                if let Some(option) = global.given().first() {
                    return Err(exit::Failure::new(
                        exit::USAGE,
                        format!(
                            "{option} is an option of the client commands, not of `gateway` \
                             (see `exws gateway --help`)"
                        ),
                    ));
                }
                gateway::run(*args).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// Refuses the client options other than `--timeout` given before `command`, which does not
/// connect to a WebSocket server.
fn only_timeout(global: &GlobalOptions, command: &str) -> Result<(), exit::Failure> {
    match global
        .given()
        .into_iter()
        .find(|option| *option != "--timeout")
    {
        Some(option) => Err(exit::Failure::new(
            exit::USAGE,
            format!("{option} does not apply to `{command}` (see `exws {command} --help`)"),
        )),
        None => Ok(()),
    }
}

/// Logs to stderr, only when `RUST_LOG` asks for them.
fn init_logs() {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
}

/// The gateway logs at `info` unless `RUST_LOG` says otherwise.
fn init_gateway_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
