//! The calculator behind Telegram Mini App authentication.
//!
//! Clients connect with their Mini App's `initData`, as the `initData` query parameter or an
//! `Authorization: tma <initData>` header; tampered, stale or missing `initData` is refused
//! with 401 before the WebSocket opens.
//!
//! ```sh
//! TELEGRAM_BOT_TOKEN=123456:ABC... EXWS_ADDR=127.0.0.1:8765 cargo run --example telegram
//! ```

use exws::auth::telegram::{TelegramAuth, WebAppUser};
use exws::{message, Server};
use serde::{Deserialize, Serialize};
use std::process::ExitCode;

#[derive(Deserialize)]
struct CalculateRequest {
    numbers: Vec<i64>,
}

#[derive(Serialize)]
struct CalculateResponse {
    result: i64,
}

#[message]
async fn calculate(request: CalculateRequest) -> CalculateResponse {
    CalculateResponse {
        result: request.numbers.iter().sum(),
    }
}

#[derive(Deserialize)]
struct WhoAmIRequest {}

#[derive(Serialize)]
struct WhoAmIResponse {
    id: i64,
    first_name: String,
    username: Option<String>,
}

/// Answers from the Telegram user the handshake authenticated.
#[message]
async fn who_am_i(_request: WhoAmIRequest, user: WebAppUser) -> WhoAmIResponse {
    WhoAmIResponse {
        id: user.id,
        first_name: user.first_name,
        username: user.username,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // exws's errors say what failed and what to do; the address is ours to explain.
            let hint = match error.downcast_ref::<exws::Error>() {
                Some(exws::Error::Bind { .. }) => "; set EXWS_ADDR to another address",
                _ => "",
            };
            eprintln!("telegram: {error}{hint}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let token = std::env::var("TELEGRAM_BOT_TOKEN")
        .map_err(|_| "set TELEGRAM_BOT_TOKEN to your bot's token (from @BotFather)")?;
    let auth = TelegramAuth::try_new(token)?;
    let addr = std::env::var("EXWS_ADDR").unwrap_or_else(|_| "127.0.0.1:8765".to_owned());
    let server = Server::new()
        .authenticator(auth)
        .bind(addr.as_str())
        .await?;
    println!("exws listening on ws://{}", server.local_addr());
    server
        .serve()
        .with_graceful_shutdown(exws::shutdown_signal())
        .await?;
    Ok(())
}
