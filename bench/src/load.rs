//! The request/reply load: C connections, each keeping up to D requests in flight, in a closed
//! loop (as fast as replies come) or at a fixed offered rate.

use crate::net::{connect, source_address, ConnectOptions, Ws};
use crate::procfs::cpu_ticks;
use crate::proto::{check_reply, write_request_with, NumberTexts, Protocol};
use crate::stats::{Latencies, LoadReport};
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `ws://host:port/`.
    pub url: String,
    /// The wire protocol.
    pub protocol: Protocol,
    /// Connections.
    pub conns: usize,
    /// Requests in flight per connection (the most, in rate mode).
    pub depth: usize,
    /// The measured window, seconds.
    pub seconds: f64,
    /// Warm-up before the window, seconds (same load, not recorded).
    pub warmup: f64,
    /// Numbers per request.
    pub numbers: usize,
    /// Offered requests per second over all connections; 0: closed loop.
    pub rate: f64,
    /// How sends are paced in rate mode.
    pub pacing: Pacing,
    /// Spread connections over this many loopback source addresses (0: the default one).
    pub sources: usize,
    /// The server's process id, to report how busy it was during the window.
    pub server_pid: Option<u32>,
}

/// How the rate mode paces its sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Pacing {
    /// On tokio's timer, which ticks per millisecond: each millisecond's requests leave
    /// together, in one burst over all connections.
    Tick,
    /// Busy: every connection task yields instead of sleeping and sends each request when it
    /// is due, to within a few microseconds; the load generator's core is then always busy.
    Spin,
}

/// What one connection saw.
#[derive(Debug, Default)]
struct Tally {
    latencies: Latencies,
    replies: u64,
    total_replies: u64,
    errors: u64,
}

/// How long in-flight requests may take to be answered after the window.
const DRAIN: Duration = Duration::from_secs(2);

/// Runs the load and returns its report.
pub async fn run(options: &LoadOptions) -> LoadReport {
    let mut connections = Vec::with_capacity(options.conns);
    let mut errors = 0;
    let opened = futures_util::future::join_all((0..options.conns).map(|index| {
        connect(
            &options.url,
            ConnectOptions {
                source: source_address(index, options.sources),
                ..ConnectOptions::default()
            },
        )
    }))
    .await;
    for result in opened {
        match result {
            Ok(ws) => connections.push(ws),
            Err(error) => {
                eprintln!("connecting failed: {error}");
                errors += 1;
            }
        }
    }
    let start = Instant::now();
    let window_start = start + Duration::from_secs_f64(options.warmup);
    let window_end = window_start + Duration::from_secs_f64(options.seconds);
    let count = connections.len().max(1);
    // The server's CPU time over the window, read when it starts and ends.
    let server_cpu = options.server_pid.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(window_start.into()).await;
            let before = cpu_ticks(pid).ok()?;
            let started = Instant::now();
            tokio::time::sleep_until(window_end.into()).await;
            let after = cpu_ticks(pid).ok()?;
            let ticks_per_second = 100.0;
            Some(
                (after - before) as f64 / ticks_per_second / started.elapsed().as_secs_f64()
                    * 100.0,
            )
        })
    });
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(index, ws)| {
            let options = options.clone();
            let schedule = Schedule {
                start,
                window_start,
                window_end,
                per_connection_rate: options.rate / count as f64,
                phase: index as f64 / count as f64,
            };
            tokio::spawn(async move { drive(ws, index as u64, &options, schedule).await })
        })
        .collect();
    let mut total = Tally {
        errors,
        ..Tally::default()
    };
    for task in tasks {
        match task.await {
            Ok(tally) => {
                total.latencies.merge(&tally.latencies);
                total.replies += tally.replies;
                total.total_replies += tally.total_replies;
                total.errors += tally.errors;
            }
            Err(_) => total.errors += 1,
        }
    }
    let server_cpu_pct = match server_cpu {
        Some(task) => task.await.ok().flatten(),
        None => None,
    };
    let mode = match (options.rate > 0.0, options.pacing) {
        (false, _) => "load",
        (true, Pacing::Tick) => "rate",
        (true, Pacing::Spin) => "rate-spin",
    };
    let protocol = match options.protocol {
        Protocol::Exws => "exws",
        Protocol::Echo => "echo",
        Protocol::Jsonrpc => "jsonrpc",
    };
    LoadReport {
        mode: format!("{mode}-{protocol}"),
        conns: options.conns,
        depth: options.depth,
        seconds: options.seconds,
        replies: total.replies,
        replies_per_sec: total.replies as f64 / options.seconds,
        p50_us: total.latencies.quantile_us(0.50),
        p99_us: total.latencies.quantile_us(0.99),
        p999_us: total.latencies.quantile_us(0.999),
        errors: total.errors,
        total_replies: total.total_replies,
        target_rate: options.rate,
        server_cpu_pct,
    }
}

#[derive(Debug, Clone, Copy)]
struct Schedule {
    start: Instant,
    window_start: Instant,
    window_end: Instant,
    /// 0: closed loop.
    per_connection_rate: f64,
    /// Offsets this connection's sends within the rate's period, in periods.
    phase: f64,
}

impl Schedule {
    /// When request number `k` of this connection is due (rate mode).
    fn due(&self, k: u64) -> Instant {
        self.start + Duration::from_secs_f64((k as f64 + self.phase) / self.per_connection_rate)
    }
}

/// One connection's loop: send while allowed, verify every reply, until the window ends and
/// the requests in flight are answered (or the drain time is over).
async fn drive(mut ws: Ws, connection: u64, options: &LoadOptions, schedule: Schedule) -> Tally {
    let mut tally = Tally::default();
    // Request ids and send times; a short list is faster to search than a hash map.
    let mut in_flight = InFlight::with_capacity(options.depth);
    let number_texts = NumberTexts::new(options.numbers);
    let mut sent: u64 = 0;
    let mut text = String::with_capacity(256);
    let rate_mode = schedule.per_connection_rate > 0.0;
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let id_base = connection << 32;
    let drain_end = schedule.window_end + DRAIN;
    'run: loop {
        // Send what is allowed now.
        let now = Instant::now();
        if now < schedule.window_end {
            while in_flight.len() < options.depth {
                if rate_mode && schedule.due(sent) > now {
                    break;
                }
                // Latency counts from the send: with tick pacing the rate is paced per
                // millisecond, and counting from the due time would add that pacing lag to
                // every request.
                let stamp = Instant::now();
                let id = id_base | sent;
                write_request_with(&mut text, options.protocol, id, &number_texts);
                if ws.feed(Message::text(text.as_str())).await.is_err() {
                    tally.errors += 1 + in_flight.len() as u64;
                    break 'run;
                }
                in_flight.insert(id, stamp);
                sent += 1;
            }
        } else if in_flight.is_empty() {
            break;
        }
        if ws.flush().await.is_err() {
            tally.errors += 1 + in_flight.len() as u64;
            break;
        }
        // Wait for a reply (or, in rate mode, the next tick).
        let frame = if now >= schedule.window_end {
            match tokio::time::timeout_at(drain_end.into(), ws.next()).await {
                Ok(frame) => frame,
                Err(_) => {
                    tally.errors += in_flight.len() as u64;
                    break;
                }
            }
        } else if rate_mode {
            match options.pacing {
                Pacing::Tick => tokio::select! {
                    frame = ws.next() => frame,
                    _ = ticker.tick() => continue,
                },
                Pacing::Spin => tokio::select! {
                    biased;
                    frame = ws.next() => frame,
                    () = tokio::task::yield_now() => continue,
                },
            }
        } else {
            ws.next().await
        };
        let mut frame = frame;
        // Handle this frame and every other one already read.
        loop {
            match frame {
                None => {
                    tally.errors += 1 + in_flight.len() as u64;
                    break 'run;
                }
                Some(Err(error)) => {
                    eprintln!("connection {connection}: {error}");
                    tally.errors += 1 + in_flight.len() as u64;
                    break 'run;
                }
                Some(Ok(Message::Text(reply))) => {
                    let arrived = Instant::now();
                    match check_reply(options.protocol, reply.as_str(), options.numbers) {
                        Some((id, true)) => match in_flight.remove(&id) {
                            Some(stamp) => {
                                tally.total_replies += 1;
                                if stamp >= schedule.window_start && stamp < schedule.window_end {
                                    tally.replies += 1;
                                    tally
                                        .latencies
                                        .record(arrived.saturating_duration_since(stamp));
                                }
                            }
                            None => tally.errors += 1,
                        },
                        Some((id, false)) => {
                            in_flight.remove(&id);
                            tally.errors += 1;
                        }
                        None => {
                            if tally.errors < 3 {
                                eprintln!("connection {connection}: unexpected frame {reply}");
                            }
                            tally.errors += 1;
                        }
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Binary(_) | Message::Close(_))) => tally.errors += 1,
            }
            match ws.next().now_or_never() {
                Some(next) => frame = next,
                None => break,
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    tally
}

/// The requests of one connection waiting for their reply: id and send time.
struct InFlight {
    entries: Vec<(u64, Instant)>,
}

impl InFlight {
    fn with_capacity(capacity: usize) -> Self {
        InFlight {
            entries: Vec::with_capacity(capacity),
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, id: u64, sent: Instant) {
        self.entries.push((id, sent));
    }

    fn remove(&mut self, id: &u64) -> Option<Instant> {
        let index = self.entries.iter().position(|(entry, _)| entry == id)?;
        Some(self.entries.swap_remove(index).1)
    }
}
