//! `exws gateway`: the PyStrands-compatible gateway (see docs/GATEWAY.md).

use crate::exit::{self, Failure};
use clap::{Args, ValueEnum};
use exws::gateway::{Gateway, GatewayConfig};
use exws::{Server, SlowConsumerPolicy};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Options of `exws gateway`. PyStrands' own flags and environment variables keep their
/// names and defaults.
#[derive(Debug, Args)]
pub(crate) struct GatewayArgs {
    /// The WebSocket port, on every interface (clients connect to ws://HOST:PORT/ws/...).
    #[arg(
        long,
        env = "PYSTRAND_WS_PORT",
        default_value_t = 8080,
        value_name = "PORT"
    )]
    pub ws_port: u16,
    /// The backend port, on loopback (backends connect with plain TCP, one JSON object per line).
    #[arg(
        long,
        env = "PYSTRAND_TCP_PORT",
        default_value_t = 8081,
        value_name = "PORT"
    )]
    pub tcp_port: u16,
    /// Events kept while no backend is connected, flushed in order to the next one (the oldest
    /// dropped when full); 0 keeps none.
    #[arg(
        long,
        env = "PYSTRAND_QUEUE_SIZE",
        default_value_t = 1000,
        value_name = "EVENTS"
    )]
    pub queue_size: usize,
    /// The full WebSocket address, instead of 0.0.0.0:<ws-port> [default: 0.0.0.0:<ws-port>].
    #[arg(long, value_name = "ADDR")]
    pub ws_addr: Option<SocketAddr>,
    /// The full backend address, instead of 127.0.0.1:<tcp-port>; an address beyond loopback
    /// requires --backend-token [default: 127.0.0.1:<tcp-port>].
    #[arg(long, value_name = "ADDR")]
    pub backend_addr: Option<SocketAddr>,
    /// Backends must send {"request_id":"auth","action":"auth","params":{"token":"TOKEN"}} as
    /// their first line [default: none; required off loopback].
    #[arg(
        long,
        env = "EXWS_GATEWAY_BACKEND_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub backend_token: Option<String>,
    /// Seconds a handshake waits for the backend's response before it is refused with 504
    /// (503 when no backend's queue had room for the request by then).
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    pub request_timeout: f64,
    /// The longest line a backend may send, in bytes (a longer one is skipped and answered with
    /// an error event).
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_line_size: usize,
    /// The capacity of each backend's write queue, in events; when full, the clients of that
    /// backend wait (backpressure), and while every backend's queue is full a handshake waits
    /// for room (within --request-timeout; then 503).
    #[arg(long, default_value_t = 1024, value_name = "EVENTS")]
    pub backend_queue: usize,
    /// Seconds between heartbeat events to every backend.
    #[arg(long, default_value_t = 15.0, value_name = "SECS")]
    pub backend_heartbeat: f64,
    /// Seconds a backend may read nothing (heartbeats included) before it is dropped and its
    /// clients move to another backend.
    #[arg(long, default_value_t = 45.0, value_name = "SECS")]
    pub backend_timeout: f64,
    /// Turns on HTTP publish: POST /publish on the WebSocket port with
    /// `Authorization: Bearer TOKEN` [default: off].
    #[arg(
        long,
        env = "EXWS_GATEWAY_PUBLISH_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub publish_token: Option<String>,
    /// Several gateway processes on this Redis act as one (rooms, clients and broadcasts
    /// across all of them) [default: one process].
    #[arg(
        long,
        env = "EXWS_REDIS_URL",
        value_name = "URL",
        conflicts_with = "nats"
    )]
    pub redis: Option<String>,
    /// Several gateway processes on this NATS (with JetStream, `nats-server -js`) act as one,
    /// as with --redis [default: one process].
    #[arg(long, env = "EXWS_NATS_URL", value_name = "URL")]
    pub nats: Option<String>,
    /// Serve wss://: the certificate chain, PEM (with --tls-key) [default: plain ws://].
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, PEM [default: none; required with --tls-cert].
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Only admit browsers from this Origin (repeatable; others get 403) [default: any].
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// Believe forwarding headers from this proxy address or network (repeatable) [default: none].
    #[arg(long = "trusted-proxy", value_name = "ADDR_OR_NET")]
    pub trusted_proxies: Vec<String>,
    /// The largest message (frame) a client may send, in bytes.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_message_size: usize,
    /// The most client connections open at once (more get 503).
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_connections: usize,
    /// Each client's outbound queue, in messages.
    #[arg(long, default_value_t = 1024, value_name = "MESSAGES")]
    pub outbound_queue: usize,
    /// Each client's outbound queue, in bytes.
    #[arg(long, default_value_t = 512 * 1024, value_name = "BYTES")]
    pub outbound_queue_bytes: usize,
    /// What happens to a client whose outbound queue is full.
    #[arg(long, value_enum, default_value_t = SlowConsumer::Disconnect)]
    pub slow_consumer: SlowConsumer,
    /// Per-client message rate limit, messages per second (with --rate-burst) [default: none].
    #[arg(long, value_name = "PER_SECOND", requires = "rate_burst")]
    pub rate_limit: Option<f64>,
    /// The burst of --rate-limit, in messages [default: none; required with --rate-limit].
    #[arg(long, value_name = "MESSAGES", requires = "rate_limit")]
    pub rate_burst: Option<u32>,
    /// Seconds between pings to each client.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub ping_interval: f64,
    /// Seconds a client may stay silent (no pong, no message) before it is closed.
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    pub ping_timeout: f64,
    /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9100) [default: off].
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// `--slow-consumer`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SlowConsumer {
    /// Close the client with 1008.
    Disconnect,
    /// Drop the newest messages for it (counted in metrics).
    Drop,
}

fn seconds(name: &str, value: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| {
            Failure::new(
                exit::USAGE,
                format!("--{name}: use a positive number of seconds"),
            )
        })
}

/// The gateway's options from the arguments.
fn config(args: &GatewayArgs) -> Result<GatewayConfig, Failure> {
    let backend_addr = args.backend_addr.unwrap_or(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        args.tcp_port,
    ));
    let mut config = GatewayConfig::default()
        .backend_addr(backend_addr)
        .queue_size(args.queue_size)
        .request_timeout(seconds("request-timeout", args.request_timeout)?)
        .max_line_size(args.max_line_size)
        .backend_queue(args.backend_queue)
        .heartbeat_interval(seconds("backend-heartbeat", args.backend_heartbeat)?)
        .backend_timeout(seconds("backend-timeout", args.backend_timeout)?);
    if let Some(token) = &args.backend_token {
        config = config.backend_token(token);
    }
    if let Some(token) = &args.publish_token {
        config = config.publish_token(token);
    }
    Ok(config)
}

/// The WebSocket server's options from the arguments.
fn server(args: &GatewayArgs) -> Result<Server, Failure> {
    let mut server = Server::with_handlers([])
        .max_message_size(args.max_message_size)
        .max_connections(args.max_connections)
        .outbound_queue(args.outbound_queue)
        .outbound_queue_bytes(args.outbound_queue_bytes)
        .slow_consumer(match args.slow_consumer {
            SlowConsumer::Disconnect => SlowConsumerPolicy::Disconnect,
            SlowConsumer::Drop => SlowConsumerPolicy::DropNewest,
        })
        .heartbeat(
            seconds("ping-interval", args.ping_interval)?,
            seconds("ping-timeout", args.ping_timeout)?,
        );
    if !args.allowed_origins.is_empty() {
        server = server.allowed_origins(args.allowed_origins.clone());
    }
    if !args.trusted_proxies.is_empty() {
        server = server.trusted_proxies(&args.trusted_proxies);
    }
    if let (Some(per_second), Some(burst)) = (args.rate_limit, args.rate_burst) {
        server = server.rate_limit(per_second, burst);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let tls = exws::TlsConfig::from_pem_files(cert, key)
            .map_err(|error| Failure::new(exit::USAGE, format!("TLS: {error}")))?;
        server = server.tls(tls);
    }
    if let Some(url) = &args.redis {
        let adapter = exws::adapter::RedisAdapter::new(url.as_str())
            .map_err(|error| Failure::new(exit::USAGE, format!("--redis: {error}")))?;
        server = server.adapter(adapter);
    }
    if let Some(url) = &args.nats {
        let adapter = exws::adapter::NatsAdapter::new(url.as_str())
            .map_err(|error| Failure::new(exit::USAGE, format!("--nats: {error}")))?;
        server = server.adapter(adapter);
    }
    Ok(server)
}

/// Runs the gateway until Ctrl-C or SIGTERM.
pub(crate) async fn run(args: GatewayArgs) -> Result<(), Failure> {
    let config = config(&args)?;
    let server = server(&args)?;
    if let Some(addr) = args.metrics_addr {
        exws::metrics::install_prometheus(addr)
            .map_err(|error| Failure::new(exit::USAGE, format!("--metrics-addr: {error}")))?;
    }
    let ws_addr = args.ws_addr.unwrap_or(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        args.ws_port,
    ));
    let gateway = Gateway::new(config)
        .bind(server, ws_addr)
        .await
        .map_err(|error| Failure::new(exit::CONNECTION, error.to_string()))?;
    tracing::info!(
        ws = %gateway.ws_addr(),
        backends = %gateway.backend_addr(),
        "exws gateway listening"
    );
    eprintln!(
        "exws gateway: clients on ws://{}/ws/..., backends on {}",
        gateway.ws_addr(),
        gateway.backend_addr()
    );
    gateway
        .serve()
        .with_graceful_shutdown(exws::shutdown_signal())
        .await
        .map_err(|error| Failure::new(exit::CONNECTION, error.to_string()))
}

#[cfg(test)]
mod tests {
    use crate::args::{Cli, Command};
    use clap::{CommandFactory, Parser};

    fn gateway_args(argv: &[&str]) -> super::GatewayArgs {
        match Cli::try_parse_from(argv).expect("valid arguments").command {
            Command::Gateway(args) => *args,
            other => panic!("parsed {other:?}"),
        }
    }

    /// PyStrands' flags, defaults and environment variables (one test: it sets the process's
    /// environment, which no other test of this binary reads).
    #[test]
    fn pystrands_flags_defaults_and_environment_variables() {
        for name in [
            "PYSTRAND_WS_PORT",
            "PYSTRAND_TCP_PORT",
            "PYSTRAND_QUEUE_SIZE",
        ] {
            assert!(
                std::env::var_os(name).is_none(),
                "{name} is set for the test"
            );
        }
        let defaults = gateway_args(&["exws", "gateway"]);
        assert_eq!(
            (defaults.ws_port, defaults.tcp_port, defaults.queue_size),
            (8080, 8081, 1000)
        );
        assert!(
            defaults.backend_addr.is_none(),
            "backends on 127.0.0.1:<tcp-port>"
        );
        assert!(super::config(&defaults).is_ok(), "the defaults are valid");

        let flags = gateway_args(&[
            "exws",
            "gateway",
            "--ws-port",
            "9000",
            "--tcp-port",
            "9001",
            "--queue-size",
            "5",
        ]);
        assert_eq!(
            (flags.ws_port, flags.tcp_port, flags.queue_size),
            (9000, 9001, 5)
        );

        std::env::set_var("PYSTRAND_WS_PORT", "7000");
        std::env::set_var("PYSTRAND_TCP_PORT", "7001");
        std::env::set_var("PYSTRAND_QUEUE_SIZE", "7");
        let from_env = gateway_args(&["exws", "gateway"]);
        let flag_wins = gateway_args(&["exws", "gateway", "--ws-port", "9000"]);
        for name in [
            "PYSTRAND_WS_PORT",
            "PYSTRAND_TCP_PORT",
            "PYSTRAND_QUEUE_SIZE",
        ] {
            std::env::remove_var(name);
        }
        assert_eq!(
            (from_env.ws_port, from_env.tcp_port, from_env.queue_size),
            (7000, 7001, 7)
        );
        assert_eq!(flag_wins.ws_port, 9000);
    }

    #[test]
    fn every_gateway_option_states_its_default_in_its_help() {
        let mut command = Cli::command();
        command.build();
        let gateway = command
            .find_subcommand("gateway")
            .expect("a gateway command");
        let mut checked = 0;
        for arg in gateway.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" {
                continue;
            }
            let help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(
                !arg.get_default_values().is_empty() || help.contains("[default:"),
                "`exws gateway --{}` does not state its default: {help:?}",
                arg.get_long().unwrap_or(id)
            );
            checked += 1;
        }
        assert!(checked >= 25, "only {checked} options checked");
    }
}
