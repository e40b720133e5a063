//! The typed Rust client against the calculator example, using the same message structs as a
//! server would (`exws_workspace::calculator`).
//!
//! ```sh
//! cargo run --example calculator &          # the server
//! cargo run --example client                # EXWS_URL defaults to ws://127.0.0.1:8765
//! ```

use exws_client::Client;
use exws_workspace::calculator::{CalculateRequest, CalculateResponse};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("EXWS_URL").unwrap_or_else(|_| "ws://127.0.0.1:8765".to_owned());
    let client = Client::connect(url).await?;
    let request = CalculateRequest {
        numbers: vec![2, 2],
    };
    let reply: CalculateResponse = client.call(&request).await?;
    println!("2 + 2 = {}", reply.result);
    client.close().await;
    Ok(())
}
