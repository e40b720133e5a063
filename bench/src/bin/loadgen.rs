//! The load generator: request/reply load, idle connections, room fan-out, cross-process
//! delivery through Redis, and stalled clients. Each sub-command prints JSON lines on stdout;
//! see `bench/README.md`.

use clap::{Args as ClapArgs, Parser, Subcommand};
use exws_bench::load::{self, LoadOptions, Pacing};
use exws_bench::net::{connect, raise_fd_limit, source_address, ConnectOptions, Ws};
use exws_bench::procfs::{cpu_ticks, rss_bytes};
use exws_bench::proto::{self, Protocol, RoomMessageEnvelope};
use exws_bench::stats::Latencies;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
#[command(name = "loadgen", about = "exws benchmark load generator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// C connections × D requests in flight (closed loop, or `--rate`); one JSON line.
    Load(LoadArgs),
    /// Opens idle connections in steps and reads the server's RSS after each step.
    Idle(IdleArgs),
    /// N receivers in one room; time from one send until the last receiver has it.
    Fanout(FanoutArgs),
    /// Sender on server A, receivers on server B (same Redis): per-message delivery latency.
    Cross(CrossArgs),
    /// Memory held for clients that stop reading, and healthy throughput with them around.
    Stall(StallArgs),
    /// Streams: items/s of one stream to one client (and server CPU per item), then server
    /// memory per open idle stream.
    Streams(StreamsArgs),
}

#[derive(ClapArgs)]
struct StreamsArgs {
    /// Server URL (the exws_calculator benchmark server: `Flood` and `Hold` handlers).
    #[arg(long, default_value = "ws://127.0.0.1:8765/")]
    url: String,
    /// Items of the measured stream.
    #[arg(long, default_value_t = 2_000_000)]
    items: u64,
    /// Idle streams to open for the memory measurement (64 per connection).
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
    /// The server's process id, to read its RSS and CPU time.
    #[arg(long)]
    server_pid: u32,
    /// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100.0)]
    clk_tck: f64,
}

#[derive(ClapArgs, Clone)]
struct LoadArgs {
    /// Server URL.
    #[arg(long, default_value = "ws://127.0.0.1:8765/")]
    url: String,
    /// Wire protocol: exws (calculator), echo (reference echo server), jsonrpc (jsonrpsee).
    #[arg(long, value_enum, default_value = "exws")]
    protocol: Protocol,
    /// Connections.
    #[arg(long, default_value_t = 64)]
    conns: usize,
    /// Requests in flight per connection (the most, with --rate).
    #[arg(long, default_value_t = 16)]
    depth: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Warm-up seconds before the measurement (same load, not recorded).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Numbers per calculator request.
    #[arg(long, default_value_t = 4)]
    numbers: usize,
    /// Offered load in requests/s over all connections (0: closed loop, as fast as replies
    /// come). Latency is measured from each send.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// With --rate: `tick` sends each millisecond's requests together (tokio's timer), `spin`
    /// sends each when it is due, to within microseconds (the load generator's core stays busy).
    #[arg(long, value_enum, default_value = "tick")]
    pacing: Pacing,
    /// Spread connections over this many source addresses 127.0.0.2.. (0: default address).
    #[arg(long, default_value_t = 0)]
    sources: usize,
    /// The server's process id: reports its CPU use during the window (`server_cpu_pct`).
    #[arg(long)]
    server_pid: Option<u32>,
}

impl LoadArgs {
    fn options(&self) -> LoadOptions {
        LoadOptions {
            url: self.url.clone(),
            protocol: self.protocol,
            conns: self.conns,
            depth: self.depth,
            seconds: self.seconds,
            warmup: self.warmup,
            numbers: self.numbers,
            rate: self.rate,
            pacing: self.pacing,
            sources: self.sources,
            server_pid: self.server_pid,
        }
    }
}

#[derive(ClapArgs)]
struct IdleArgs {
    /// Server URL.
    #[arg(long, default_value = "ws://127.0.0.1:8765/")]
    url: String,
    /// Cumulative connection counts at which to measure, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "2000,6000,10000,14000,18000"
    )]
    steps: Vec<usize>,
    /// Source addresses 127.0.0.2.. to spread connections over.
    #[arg(long, default_value_t = 16)]
    sources: usize,
    /// Handshakes in progress at once.
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// The server's process id, to read its RSS.
    #[arg(long)]
    server_pid: u32,
    /// Seconds to wait after each step before reading the RSS.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
}

#[derive(ClapArgs)]
struct FanoutArgs {
    /// Server URL.
    #[arg(long, default_value = "ws://127.0.0.1:8765/")]
    url: String,
    /// Receivers in the room.
    #[arg(long, default_value_t = 10_000)]
    receivers: usize,
    /// Messages sent (one at a time).
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Pause between messages, ms.
    #[arg(long, default_value_t = 100)]
    pause_ms: u64,
    /// Source addresses 127.0.0.2.. to spread connections over.
    #[arg(long, default_value_t = 16)]
    sources: usize,
    /// Handshakes (and joins) in progress at once.
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// The server's process id, to report its CPU time per message (less noisy than latency
    /// on a busy machine).
    #[arg(long)]
    server_pid: Option<u32>,
    /// A second server on the same backend: half the receivers join the room there (the
    /// sender stays on `--url`), so the fan-out crosses processes.
    #[arg(long)]
    second_url: Option<String>,
    /// The second server's process id (its CPU time is added to the first's).
    #[arg(long)]
    second_server_pid: Option<u32>,
}

#[derive(ClapArgs)]
struct CrossArgs {
    /// URL of server A (the sender's).
    #[arg(long)]
    send_url: String,
    /// URL of server B (the receivers').
    #[arg(long)]
    recv_url: String,
    /// Receivers on B, in one room.
    #[arg(long, default_value_t = 1)]
    receivers: usize,
    /// Messages per second sent to the room.
    #[arg(long, default_value_t = 10_000.0)]
    rate: f64,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Warm-up seconds (sent, not recorded).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
}

#[derive(ClapArgs)]
struct StallArgs {
    /// The healthy load (its --url is also where the stalled clients connect).
    #[command(flatten)]
    load: LoadArgs,
    /// Clients that stop reading.
    #[arg(long, default_value_t = 1000)]
    stalled: usize,
    /// How they stall: `room` (join a room that a pusher floods, never read) or `requests`
    /// (pipeline calculator requests, never read the replies).
    #[arg(long, value_enum, default_value = "room")]
    kind: StallKind,
    /// Messages pushed to the stalled room (room) or requests per stalled client (requests).
    #[arg(long, default_value_t = 1024)]
    push_count: usize,
    /// Bytes of text per pushed room message.
    #[arg(long, default_value_t = 1024)]
    push_size: usize,
    /// Room messages per second pushed during the loaded phase (room kind).
    #[arg(long, default_value_t = 100.0)]
    push_rate: f64,
}

/// How stalled clients stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StallKind {
    Room,
    Requests,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    raise_fd_limit();
    // The load generator gets one core: one thread, no cross-thread wake-ups.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Load(args) => {
                let report = load::run(&args.options()).await;
                println!("{}", serde_json::to_string(&report)?);
                Ok(())
            }
            Command::Idle(args) => idle(args).await,
            Command::Streams(args) => streams(args).await,
            Command::Fanout(args) => fanout(args).await,
            Command::Cross(args) => cross(args).await,
            Command::Stall(args) => stall(args).await,
        }
    })
}

type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// Opens `count` connections (`first` is the index of the first, for the source address),
/// `concurrency` handshakes at once, each joining `room` if given. Returns the open ones and
/// the number of failures.
async fn open_many(
    url: &str,
    first: usize,
    count: usize,
    sources: usize,
    concurrency: usize,
    room: Option<&str>,
    recv_buffer: Option<u32>,
) -> (Vec<Ws>, u64) {
    let results: Vec<Result<Ws, String>> = futures_util::stream::iter(first..first + count)
        .map(|index| async move {
            let options = ConnectOptions {
                source: source_address(index, sources),
                recv_buffer,
            };
            let mut ws = connect(url, options)
                .await
                .map_err(|error| error.to_string())?;
            if let Some(room) = room {
                join(&mut ws, room).await?;
            }
            Ok(ws)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut open = Vec::with_capacity(count);
    let mut failed = 0;
    for result in results {
        match result {
            Ok(ws) => open.push(ws),
            Err(error) => {
                if failed < 3 {
                    eprintln!("connection failed: {error}");
                }
                failed += 1;
            }
        }
    }
    (open, failed)
}

/// Joins `room` and waits for the `Joined` reply.
async fn join(ws: &mut Ws, room: &str) -> Result<(), String> {
    ws.send(Message::text(proto::join_room(room)))
        .await
        .map_err(|error| error.to_string())?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Err("no Joined reply within 10 s".to_owned()),
            Ok(Some(Ok(Message::Text(text)))) => {
                if proto::is_joined(text.as_str(), room) {
                    return Ok(());
                }
                return Err(format!("unexpected reply to JoinRoom: {text}"));
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(error))) => return Err(error.to_string()),
            Ok(None) => return Err("closed while joining".to_owned()),
        }
    }
}

/// Keeps a connection open, reading (and so answering pings) until it closes.
fn hold(mut ws: Ws) {
    tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
}

async fn streams(args: StreamsArgs) -> Result {
    let ticks_per_second = args.clk_tck;
    // One stream, one client: items/s and server CPU per item.
    let (mut ws, _) = tokio_tungstenite::connect_async(args.url.as_str()).await?;
    let cpu_before = cpu_ticks(args.server_pid)?;
    let started = Instant::now();
    ws.send(Message::text(
        json!({"Type": "Flood", "Data": {"count": args.items}, "Id": 1}).to_string(),
    ))
    .await?;
    let mut items = 0u64;
    while let Some(message) = ws.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        if text.as_str().starts_with(r#"{"Type":"StreamEnd""#) {
            break;
        }
        items += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = (cpu_ticks(args.server_pid)? - cpu_before) as f64 / ticks_per_second;
    println!(
        "{}",
        json!({"mode": "stream-rate", "items": items, "seconds": seconds,
               "items_per_second": items as f64 / seconds,
               "server_cpu_us_per_item": cpu_seconds * 1e6 / items.max(1) as f64})
    );
    drop(ws);

    // Open idle streams, 64 per connection: server RSS before and after.
    let per_connection = 64;
    let connections_needed = args.idle.div_ceil(per_connection);
    let (mut connections, failed) =
        open_many(&args.url, 0, connections_needed, 16, 128, None, None).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_connections = rss_bytes(args.server_pid)?;
    let mut opened = 0;
    for ws in &mut connections {
        for id in 0..per_connection {
            if opened == args.idle {
                break;
            }
            ws.feed(Message::text(
                json!({"Type": "Hold", "Data": {}, "Id": id}).to_string(),
            ))
            .await?;
            opened += 1;
        }
        ws.flush().await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_streams = rss_bytes(args.server_pid)?;
    println!(
        "{}",
        json!({"mode": "stream-idle", "connections": connections.len(), "failed": failed,
               "streams": opened, "rss_connections_only": rss_connections,
               "rss_with_streams": rss_streams,
               "bytes_per_idle_stream": (rss_streams as f64 - rss_connections as f64) / opened.max(1) as f64})
    );
    Ok(())
}

async fn idle(args: IdleArgs) -> Result {
    let mut steps = args.steps.clone();
    steps.sort_unstable();
    let baseline = rss_bytes(args.server_pid)?;
    println!(
        "{}",
        json!({"mode": "idle", "conns": 0, "server_rss_bytes": baseline, "errors": 0})
    );
    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut open = 0;
    let mut errors = 0;
    for &step in &steps {
        let started = Instant::now();
        let wanted = step.saturating_sub(open);
        let (connections, failed) = open_many(
            &args.url,
            open,
            wanted,
            args.sources,
            args.concurrency,
            None,
            None,
        )
        .await;
        open += connections.len();
        errors += failed;
        let open_seconds = started.elapsed().as_secs_f64();
        connections.into_iter().for_each(hold);
        tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
        let rss = rss_bytes(args.server_pid)?;
        points.push((open as f64, rss as f64));
        println!(
            "{}",
            json!({"mode": "idle", "conns": open, "server_rss_bytes": rss, "errors": errors,
                   "open_seconds": open_seconds})
        );
        if failed > 0 {
            eprintln!("{failed} connections failed at step {step}: stopping");
            break;
        }
    }
    let slope = least_squares_slope(&points);
    println!(
        "{}",
        json!({"mode": "idle-slope", "from_conns": points.first().map(|p| p.0),
               "to_conns": points.last().map(|p| p.0), "points": points.len(),
               "baseline_rss_bytes": baseline, "bytes_per_conn": slope, "errors": errors})
    );
    Ok(())
}

/// The slope of the least-squares line through `points`.
fn least_squares_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let covariance: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let variance: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if variance == 0.0 {
        0.0
    } else {
        covariance / variance
    }
}

/// Per-round arrival counts and last-arrival times of the fan-out receivers.
struct Arrivals {
    base: Instant,
    counts: Vec<AtomicU64>,
    /// Nanoseconds since `base` of the latest arrival of each round.
    last: Vec<AtomicU64>,
    wrong: AtomicU64,
    receivers: u64,
    complete: Notify,
}

async fn fanout(args: FanoutArgs) -> Result {
    let room = "fanout";
    let started = Instant::now();
    let here = if args.second_url.is_some() {
        args.receivers.div_ceil(2)
    } else {
        args.receivers
    };
    let (mut receivers, mut failed) = open_many(
        &args.url,
        0,
        here,
        args.sources,
        args.concurrency,
        Some(room),
        None,
    )
    .await;
    if let Some(second) = &args.second_url {
        let (there, there_failed) = open_many(
            second,
            here,
            args.receivers - here,
            args.sources,
            args.concurrency,
            Some(room),
            None,
        )
        .await;
        receivers.extend(there);
        failed += there_failed;
    }
    let join_seconds = started.elapsed().as_secs_f64();
    let arrivals = Arc::new(Arrivals {
        base: Instant::now(),
        counts: (0..args.rounds).map(|_| AtomicU64::new(0)).collect(),
        last: (0..args.rounds).map(|_| AtomicU64::new(0)).collect(),
        wrong: AtomicU64::new(0),
        receivers: receivers.len() as u64,
        complete: Notify::new(),
    });
    for mut ws in receivers {
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = ws.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let now = arrivals.base.elapsed().as_nanos() as u64;
                let round = serde_json::from_str::<RoomMessageEnvelope<'_>>(text.as_str())
                    .ok()
                    .filter(|m| m.message_type == "RoomMessage" && m.data.room == room)
                    .and_then(|m| {
                        m.data
                            .text
                            .split_once(':')?
                            .0
                            .strip_prefix('r')?
                            .parse()
                            .ok()
                    })
                    .filter(|round: &usize| *round < arrivals.counts.len());
                let Some(round) = round else {
                    arrivals.wrong.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                arrivals.last[round].fetch_max(now, Ordering::Relaxed);
                if arrivals.counts[round].fetch_add(1, Ordering::Relaxed) + 1 == arrivals.receivers
                {
                    arrivals.complete.notify_one();
                }
            }
        });
    }
    let mut sender = connect(&args.url, ConnectOptions::default()).await?;
    let mut latencies = Latencies::default();
    let mut missing = 0;
    let servers: Vec<u32> = args
        .server_pid
        .into_iter()
        .chain(args.second_server_pid)
        .collect();
    let servers_ticks = |pids: &[u32]| -> Result<u64> {
        let ticks = pids
            .iter()
            .map(|pid| cpu_ticks(*pid))
            .sum::<std::io::Result<u64>>();
        Ok(ticks?)
    };
    let server_ticks = (!servers.is_empty())
        .then(|| servers_ticks(&servers))
        .transpose()?;
    let own_ticks = cpu_ticks(std::process::id())?;
    for round in 0..args.rounds {
        let mut text = format!("r{round}:");
        while text.len() < args.size {
            text.push('x');
        }
        let sent = arrivals.base.elapsed().as_nanos() as u64;
        sender
            .send(Message::text(proto::send_to_room(room, &text)))
            .await?;
        let complete = async {
            while arrivals.counts[round].load(Ordering::Relaxed) < arrivals.receivers {
                arrivals.complete.notified().await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), complete)
            .await
            .is_err()
        {
            missing += arrivals.receivers - arrivals.counts[round].load(Ordering::Relaxed);
        } else {
            let last = arrivals.last[round].load(Ordering::Relaxed);
            latencies.record(Duration::from_nanos(last.saturating_sub(sent)));
        }
        tokio::time::sleep(Duration::from_millis(args.pause_ms)).await;
    }
    let errors = failed + missing + arrivals.wrong.load(Ordering::Relaxed);
    // CPU milliseconds per message (one clock tick is 10 ms: use enough rounds).
    let per_message = |ticks: u64| ticks as f64 * 10.0 / args.rounds.max(1) as f64;
    let server_cpu_ms = match server_ticks {
        Some(before) => Some(per_message(servers_ticks(&servers)? - before)),
        None => None,
    };
    let loadgen_cpu_ms = per_message(cpu_ticks(std::process::id())? - own_ticks);
    println!(
        "{}",
        json!({"mode": "fanout", "receivers": arrivals.receivers,
               "processes": if args.second_url.is_some() { 2 } else { 1 }, "rounds": args.rounds,
               "size": args.size, "measured": latencies.len(),
               "server_cpu_ms_per_message": server_cpu_ms,
               "loadgen_cpu_ms_per_message": loadgen_cpu_ms,
               "p50_us": latencies.quantile_us(0.5), "p99_us": latencies.quantile_us(0.99),
               "max_us": latencies.quantile_us(1.0), "join_seconds": join_seconds,
               "errors": errors})
    );
    Ok(())
}

async fn cross(args: CrossArgs) -> Result {
    let room = "cross";
    let (receivers, failed) =
        open_many(&args.recv_url, 0, args.receivers, 0, 64, Some(room), None).await;
    let base = Instant::now();
    let window_start = Duration::from_secs_f64(args.warmup);
    let window_end = window_start + Duration::from_secs_f64(args.seconds);
    let (stop, stopped) = watch::channel(false);
    let tasks: Vec<_> = receivers
        .into_iter()
        .map(|mut ws| {
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let mut latencies = Latencies::default();
                let mut wrong = 0u64;
                loop {
                    let message = tokio::select! {
                        _ = stopped.changed() => break,
                        message = ws.next() => message,
                    };
                    let Some(Ok(message)) = message else { break };
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let now = base.elapsed();
                    let stamp = serde_json::from_str::<RoomMessageEnvelope<'_>>(text.as_str())
                        .ok()
                        .filter(|m| m.message_type == "RoomMessage" && m.data.room == room)
                        .and_then(|m| m.data.text.split_once(':')?.1.parse::<u64>().ok());
                    match stamp {
                        Some(nanos) => {
                            let sent = Duration::from_nanos(nanos);
                            if sent >= window_start && sent < window_end {
                                latencies.record(now.saturating_sub(sent));
                            }
                        }
                        None => wrong += 1,
                    }
                }
                (latencies, wrong)
            })
        })
        .collect();
    let sender = connect(&args.send_url, ConnectOptions::default()).await?;
    let (mut sink, mut replies) = sender.split();
    // The sender's only replies would be errors.
    let sender_errors = tokio::spawn(async move {
        let mut errors = 0u64;
        while let Some(Ok(message)) = replies.next().await {
            if message.is_text() {
                errors += 1;
            }
        }
        errors
    });
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sent: u64 = 0;
    let mut in_window: u64 = 0;
    loop {
        ticker.tick().await;
        let elapsed = base.elapsed();
        if elapsed >= window_end {
            break;
        }
        let due = (elapsed.as_secs_f64() * args.rate) as u64;
        while sent < due {
            let stamp = base.elapsed();
            if stamp >= window_start && stamp < window_end {
                in_window += 1;
            }
            let text = format!("{sent}:{}", stamp.as_nanos());
            sink.feed(Message::text(proto::send_to_room(room, &text)))
                .await?;
            sent += 1;
        }
        sink.flush().await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = stop.send(true);
    let mut latencies = Latencies::default();
    let mut wrong = 0;
    for task in tasks {
        let (part, part_wrong) = task.await?;
        latencies.merge(&part);
        wrong += part_wrong;
    }
    let _ = sink.close().await;
    let sender_errors = tokio::time::timeout(Duration::from_secs(1), sender_errors)
        .await
        .ok()
        .and_then(|joined| joined.ok())
        .unwrap_or(0);
    let expected = in_window * args.receivers as u64;
    let lost = expected.saturating_sub(latencies.len());
    println!(
        "{}",
        json!({"mode": "cross", "receivers": args.receivers, "rate": args.rate,
               "seconds": args.seconds, "sent": in_window, "delivered": latencies.len(),
               "p50_us": latencies.quantile_us(0.5), "p99_us": latencies.quantile_us(0.99),
               "p999_us": latencies.quantile_us(0.999), "max_us": latencies.quantile_us(1.0),
               "errors": failed + lost + wrong + sender_errors})
    );
    Ok(())
}

async fn stall(args: StallArgs) -> Result {
    let url = args.load.url.clone();
    let server_pid = args
        .load
        .server_pid
        .ok_or("stall needs --server-pid, to read the server's memory")?;
    let base = load::run(&args.load.options()).await;
    let rss_before = rss_bytes(server_pid)?;
    let room = "stall";
    let join_room = (args.kind == StallKind::Room).then_some(room);
    // A small receive buffer: the kernel holds little for a client that does not read, and
    // what piles up stays in the server.
    let (stalled, failed) = open_many(&url, 0, args.stalled, 16, 128, join_room, Some(4096)).await;
    let stalled_count = stalled.len();
    let mut keep: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    let mut keep_sinks: Vec<Ws> = Vec::new();
    match args.kind {
        StallKind::Room => keep_sinks = stalled,
        StallKind::Requests => {
            for (index, mut ws) in stalled.into_iter().enumerate() {
                let count = args.push_count;
                let numbers = args.load.numbers;
                keep.push(tokio::spawn(async move {
                    let mut text = String::new();
                    for seq in 0..count as u64 {
                        proto::write_request(
                            &mut text,
                            Protocol::Exws,
                            (index as u64) << 32 | seq,
                            numbers,
                        );
                        if ws.feed(Message::text(text.as_str())).await.is_err() {
                            return;
                        }
                    }
                    let _ = ws.flush().await;
                    // Never read: hold the connection until the end of the run.
                    std::future::pending::<()>().await;
                }));
            }
        }
    }
    let rss_open = rss_bytes(server_pid)?;
    let mut pusher: Option<SplitSink<Ws, Message>> = None;
    if args.kind == StallKind::Room {
        let ws = connect(&url, ConnectOptions::default()).await?;
        let (mut sink, mut replies) = ws.split();
        tokio::spawn(async move { while let Some(Ok(_)) = replies.next().await {} });
        let text: String = "p".repeat(args.push_size);
        let message = proto::send_to_room(room, &text);
        for _ in 0..args.push_count {
            sink.feed(Message::text(message.as_str())).await?;
        }
        sink.flush().await?;
        pusher = Some(sink);
    }
    // Wait until the server has done what the stalled clients gave it (answering their
    // requests, queueing the pushed messages) and is idle again, at least 3 s and at most
    // 60 s, noting the peak of its RSS meanwhile.
    let settle_started = Instant::now();
    let mut rss_peak = rss_open;
    let mut ticks = cpu_ticks(server_pid)?;
    let mut idle_polls = 0;
    while settle_started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss_peak = rss_peak.max(rss_bytes(server_pid)?);
        let now = cpu_ticks(server_pid)?;
        // At most 4 % of a core over the last half second.
        idle_polls = if now - ticks <= 2 { idle_polls + 1 } else { 0 };
        ticks = now;
        if idle_polls >= 2 && settle_started.elapsed() >= Duration::from_secs(3) {
            break;
        }
    }
    let settle_seconds = settle_started.elapsed().as_secs_f64();
    // The loaded phase, with a pusher still sending to the stalled room.
    let (stop, mut stopped) = watch::channel(false);
    let trickle = pusher.map(|mut sink| {
        let rate = args.push_rate;
        let message = proto::send_to_room(room, &"q".repeat(args.push_size));
        tokio::spawn(async move {
            if rate <= 0.0 {
                return;
            }
            let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    _ = ticker.tick() => {
                        if sink.send(Message::text(message.as_str())).await.is_err() {
                            break;
                        }
                    }
                }
            }
        })
    });
    let with_stalled = load::run(&args.load.options()).await;
    let rss_after = rss_bytes(server_pid)?;
    let _ = stop.send(true);
    if let Some(trickle) = trickle {
        let _ = trickle.await;
    }
    let held = rss_peak.saturating_sub(rss_before) as f64 / stalled_count.max(1) as f64;
    let drop_pct = if base.replies_per_sec > 0.0 {
        100.0 * (1.0 - with_stalled.replies_per_sec / base.replies_per_sec)
    } else {
        0.0
    };
    println!(
        "{}",
        json!({"mode": "stall", "kind": format!("{:?}", args.kind).to_lowercase(),
               "stalled": stalled_count, "push_count": args.push_count,
               "push_size": args.push_size, "rss_before_bytes": rss_before,
               "rss_open_bytes": rss_open, "rss_peak_bytes": rss_peak,
               "rss_after_load_bytes": rss_after, "held_bytes_per_stalled": held,
               "settle_seconds": settle_seconds,
               "base": base, "with_stalled": with_stalled,
               "throughput_drop_pct": drop_pct, "errors": failed})
    );
    drop(keep_sinks);
    for task in keep {
        task.abort();
    }
    Ok(())
}
