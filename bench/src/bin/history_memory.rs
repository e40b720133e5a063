//! What room history and connection recovery hold in memory (the default adapter: this
//! process): the resident memory added by the history of `--rooms` rooms of `--messages`
//! messages of `--size` bytes each, and by `--sessions` disconnected sessions kept for
//! recovery (each in `--session-rooms` rooms). Prints one JSON line.
//!
//! Sessions are measured as what a third round of `--sessions` recovering connections that come
//! and go adds after two such rounds, so that the connections' own memory, reused by the
//! allocator, is not counted.

use clap::Parser;
use exws::history::HistoryLimits;
use exws::recovery::Recovery;
use exws::testing::{Handshake, TestServer};
use exws::Server;
use exws_bench::procfs::rss_bytes;

#[derive(Parser)]
#[command(about = "memory of room history and of disconnected sessions")]
struct Args {
    #[arg(long, default_value_t = 1000)]
    rooms: usize,
    #[arg(long, default_value_t = 1000)]
    messages: usize,
    #[arg(long, default_value_t = 100)]
    size: usize,
    #[arg(long, default_value_t = 5000)]
    sessions: usize,
    #[arg(long, default_value_t = 3)]
    session_rooms: usize,
}

#[derive(serde::Serialize)]
struct Said<'a> {
    text: &'a str,
}

fn rss() -> u64 {
    rss_bytes(std::process::id()).unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let limits = HistoryLimits::default().max_messages(args.messages.max(1));
    let server = TestServer::start(
        Server::with_handlers(Vec::new()).recovery(Recovery::default().history(limits)),
    )
    .await?;
    let hub = server.hub();

    // Sessions first (the history's memory would hide them).
    let churn = |recover: bool| {
        let server = server.clone();
        let hub = hub.clone();
        let (count, rooms) = (args.sessions, args.session_rooms);
        async move {
            let path = if recover { "/?exws_recover=1" } else { "/" };
            let mut clients = Vec::with_capacity(count);
            for _ in 0..count {
                let mut client = server.connect(Handshake::new(path)).await?;
                if recover {
                    client.recv().await?; // the session frame
                }
                clients.push(client);
            }
            for id in hub.local_connection_ids() {
                for room in 0..rooms {
                    hub.join(&id, &format!("room-{room}")).await?;
                }
            }
            // Dropped without a close frame: lost connections, whose sessions are kept.
            drop(clients);
            while hub.local_connection_count() > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Ok::<(), Box<dyn std::error::Error>>(())
        }
    };
    // Two rounds to reach the connections' high-water mark (the second one keeping sessions
    // too), then a third: what it adds is its sessions, the others' still being kept.
    churn(false).await?;
    churn(true).await?;
    let before_sessions = rss();
    churn(true).await?;
    let after_sessions = rss();

    let text = "x".repeat(args.size.saturating_sub(40));
    let before_history = rss();
    for room in 0..args.rooms {
        let name = format!("history-{room}");
        for _ in 0..args.messages {
            hub.room(&name).send(&Said { text: &text }).await?;
        }
    }
    let after_history = rss();
    let per_room = after_history.saturating_sub(before_history) as f64 / args.rooms as f64;
    let per_session = after_sessions.saturating_sub(before_sessions) as f64 / args.sessions as f64;
    let envelope =
        serde_json::to_string(&serde_json::json!({"Type": "Said", "Data": {"text": text}}))?;
    println!(
        "{}",
        serde_json::json!({
            "bench": "history_memory",
            "rooms": args.rooms,
            "messages_per_room": args.messages,
            "envelope_bytes": envelope.len(),
            "history_bytes_per_room": per_room.round(),
            "history_bytes_per_message": (per_room / args.messages as f64).round(),
            "sessions": args.sessions,
            "rooms_per_session": args.session_rooms,
            "bytes_per_session": per_session.round(),
        })
    );
    Ok(())
}
