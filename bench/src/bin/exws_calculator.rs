//! The exws server of the benchmark: the calculator handler (`CalculateRequest` →
//! `CalculateResponse`), and the chat example's `JoinRoom`/`SendToRoom` handlers for the fan-out
//! and cross-process measurements, and two stream handlers (`Flood {count}`: items as fast as the
//! client reads; `Hold {}`: an open stream that never yields). Default server options unless a
//! flag says otherwise.

use clap::Parser;
use exws::{message, Connection, Hub, HubError, Server, SlowConsumerPolicy};
use exws_bench::net::{announce, raise_fd_limit};
use exws_bench::proto::{
    CalculateRequest, CalculateResponse, JoinRoom, Joined, RoomMessage, SendToRoom,
};

#[derive(Parser)]
#[command(about = "exws calculator and rooms server (benchmark)")]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// Redis URL: several processes on the same Redis act as one server.
    #[arg(long, conflicts_with = "nats")]
    redis: Option<String>,
    /// NATS URL (with JetStream): several processes on the same NATS act as one server.
    #[arg(long)]
    nats: Option<String>,
    /// The most connections at once (default: exws's default).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Drop hub messages for a client whose queue is full instead of disconnecting it.
    #[arg(long)]
    drop_newest: bool,
    /// Handle up to this many messages of each connection at once (default: one at a time).
    #[arg(long)]
    concurrent: Option<usize>,
    /// Each connection's read buffer in bytes (default: exws's default).
    #[arg(long)]
    read_buffer_size: Option<usize>,
    /// Install this many pass-through middlewares (the cost of the middleware stack).
    #[arg(long, default_value_t = 0)]
    middleware: usize,
    /// Room history and connection recovery on (default limits and window): every room
    /// message is recorded (in memory, or in Redis with `--redis`).
    #[arg(long)]
    history: bool,
}

/// A middleware that lets every message through: what the stack itself costs.
async fn pass_through(
    request: exws::middleware::Request,
    next: exws::middleware::Next,
) -> exws::middleware::Response {
    next.run(request).await
}

#[message]
async fn calculate(request: CalculateRequest) -> CalculateResponse {
    CalculateResponse {
        result: request.numbers.iter().sum(),
    }
}

#[message]
async fn join_room(
    request: JoinRoom,
    connection: Connection,
    hub: Hub,
) -> Result<Joined, HubError> {
    let members = hub.join(connection.id(), &request.room).await?;
    Ok(Joined {
        room: request.room,
        members,
    })
}

#[message]
async fn send_to_room(
    request: SendToRoom,
    connection: Connection,
    hub: Hub,
) -> Result<(), HubError> {
    let message = RoomMessage {
        room: request.room.clone(),
        from: connection.id().to_string(),
        text: request.text,
    };
    hub.room(&request.room)
        .except(connection.id())
        .send(&message)
        .await
}

/// `count` items as fast as the client reads them (stream throughput).
#[derive(serde::Deserialize)]
struct Flood {
    count: u64,
}

#[derive(serde::Serialize)]
struct Tick {
    n: u64,
}

#[message]
async fn flood(request: Flood) -> impl futures_util::Stream<Item = Tick> {
    futures_util::stream::iter((0..request.count).map(|n| Tick { n }))
}

/// A stream that stays open and never yields (memory per open idle stream).
#[derive(serde::Deserialize)]
struct Hold {}

#[message]
async fn hold(_request: Hold) -> impl futures_util::Stream<Item = Tick> {
    futures_util::stream::pending()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    raise_fd_limit();
    let mut server = Server::new();
    if let Some(url) = &args.redis {
        server = server.adapter(exws::adapter::RedisAdapter::new(url.as_str())?);
    }
    if let Some(url) = &args.nats {
        server = server.adapter(exws::adapter::NatsAdapter::new(url.as_str())?);
    }
    if let Some(connections) = args.max_connections {
        server = server.max_connections(connections);
    }
    if args.drop_newest {
        server = server.slow_consumer(SlowConsumerPolicy::DropNewest);
    }
    if let Some(in_flight) = args.concurrent {
        server = server.concurrent(in_flight);
    }
    if let Some(bytes) = args.read_buffer_size {
        server = server.read_buffer_size(bytes);
    }
    if args.history {
        server = server.recovery(exws::recovery::Recovery::default());
    }
    for _ in 0..args.middleware {
        server = server.middleware(exws::middleware::from_fn(pass_through));
    }
    let server = server.bind(args.addr.as_str()).await?;
    announce(server.local_addr());
    server
        .serve()
        .with_graceful_shutdown(exws::shutdown_signal())
        .await?;
    Ok(())
}
