//! Command-line arguments (clap derive).

use clap::{Args, Parser, Subcommand};
use serde_json::Value;
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the server answered with an Error envelope (or an unusable reply)
  2  usage error (bad arguments, invalid DATA_JSON, header or --cacert file)
  3  connection failure (refused, handshake rejected, connection lost)
  4  timeout (connecting, waiting for the reply of `call`, the next item of `stream`, or
     --idle without a message in `listen`)
  5  the Type answers in the other way: `call` got a stream (first item printed, stream
     cancelled), `stream` got one reply and then nothing within --timeout (reply printed)
  130  `stream` interrupted by Ctrl-C: the stream was cancelled (StreamCancel)";

const AFTER_HELP: &str = "\
Examples:
  exws call ws://127.0.0.1:8765 CalculateRequest '{\"numbers\":[2,2]}'
  exws send ws://127.0.0.1:8765 chat.message '{\"text\":\"hi\"}'
  exws stream ws://127.0.0.1:8765 Countdown '{\"from\":3,\"interval_ms\":200}'
  exws listen ws://127.0.0.1:8765 --send room.join '{\"room\":\"lobby\"}'
  exws --header 'Authorization: tma query_id=...' call ws://host/ws Me
  exws --cacert dev-ca.pem call wss://localhost:8443/ CalculateRequest '{\"numbers\":[1]}'";

/// Talk to an exws server from the command line: one JSON envelope
/// {"Type", "Data", "Id"} per WebSocket text frame.
#[derive(Debug, Parser)]
#[command(name = "exws", version, after_help = format!("{EXIT_CODES}\n\n{AFTER_HELP}"))]
pub(crate) struct Cli {
    /// The client options, given before the command (`exws --header ... call ...`); the same
    /// options after the command add to these.
    #[command(flatten)]
    pub global: GlobalOptions,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The options of the client commands (`call`, `send`, `stream`, `listen`, and `--timeout` of
/// `codegen` and `contract`), accepted before the command name or after it.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct GlobalOptions {
    /// Extra header for the WebSocket upgrade request, as 'Name: value' (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// The longest wait, in seconds [default: 10]: for the connection, then for the reply of
    /// `call`, each item of `stream`, the contract of `codegen` and `contract`.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
    /// The `Id` of the request (`call`, `send`, `stream`): an integer if it reads as one, else
    /// a string. `call` and `stream` generate one by default.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// A certificate file (PEM or DER) to trust for `wss://` URLs, beside the public roots: for
    /// a server with a private CA or a self-signed certificate (repeatable).
    #[arg(long = "cacert", value_name = "FILE")]
    pub ca_certificates: Vec<std::path::PathBuf>,
}

impl GlobalOptions {
    /// The timeout of connecting, of `call` and of each item of `stream`: `--timeout`, or
    /// 10 s.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }

    /// These options (given before the command) with `after` (given after it): lists add up,
    /// single values given after the command win.
    pub(crate) fn merged(&self, after: &GlobalOptions) -> GlobalOptions {
        GlobalOptions {
            headers: self.headers.iter().chain(&after.headers).cloned().collect(),
            timeout: after.timeout.or(self.timeout),
            id: after.id.clone().or_else(|| self.id.clone()),
            ca_certificates: self
                .ca_certificates
                .iter()
                .chain(&after.ca_certificates)
                .cloned()
                .collect(),
        }
    }

    /// The names of the options given, for refusing them where they do not apply.
    pub(crate) fn given(&self) -> Vec<&'static str> {
        let mut given = Vec::new();
        if !self.headers.is_empty() {
            given.push("--header");
        }
        if self.timeout.is_some() {
            given.push("--timeout");
        }
        if self.id.is_some() {
            given.push("--id");
        }
        if !self.ca_certificates.is_empty() {
            given.push("--cacert");
        }
        given
    }
}

/// `--timeout` when not given.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `listen --idle` when not given.
pub(crate) const DEFAULT_LISTEN_IDLE: Duration = Duration::from_secs(300);

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Send a request and print the `Data` of its reply as compact JSON; exit 4 when no reply
    /// comes within --timeout (10 s by default). A `Type` answered with a stream is reported:
    /// its first item is printed, the stream cancelled, exit 5.
    #[command(after_help = EXIT_CODES)]
    Call(MessageArgs),
    /// Send a message and exit once it is written and the connection closed cleanly
    /// (connecting waits at most --timeout, 10 s by default).
    #[command(after_help = EXIT_CODES)]
    Send(MessageArgs),
    /// Open a stream (a request answered by items until StreamEnd) and print the `Data` of
    /// each item as one compact JSON line; exit 0 at StreamEnd, 1 on an Error, 4 when an item
    /// takes longer than --timeout (10 s by default; the stream is cancelled), 5 when the
    /// `Type` sent one reply and nothing more (not a stream). Ctrl-C cancels the stream
    /// (StreamCancel, then a short wait for StreamEnd) and exits 130.
    #[command(after_help = EXIT_CODES)]
    Stream(MessageArgs),
    /// Print every incoming envelope as one JSON line, until the server closes, Ctrl-C, or
    /// --idle seconds without a message (300 by default; exit 4; `--idle never` listens until
    /// the server closes). Connecting waits at most --timeout (10 s by default).
    #[command(after_help = EXIT_CODES)]
    Listen(ListenArgs),
    /// Generate code from a server's contract (its AsyncAPI document).
    #[command(subcommand)]
    Codegen(Codegen),
    /// Work with contracts (AsyncAPI documents of exws servers).
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Run a PyStrands-compatible gateway: WebSocket clients on --ws-port, backends in any
    /// language on --tcp-port (one JSON object per line). See docs/GATEWAY.md.
    Gateway(Box<crate::gateway::GatewayArgs>),
}

/// What `codegen` generates.
#[derive(Debug, Subcommand)]
pub(crate) enum Codegen {
    /// TypeScript declarations exporting `Contract`, for `new ExwsClient<Contract>(url)`.
    #[command(after_help = "Examples:
  exws codegen typescript http://127.0.0.1:8765 --out contract.d.ts
  exws codegen typescript asyncapi.json > contract.d.ts")]
    Typescript(CodegenArgs),
}

/// Where the contract is, and where the code goes.
#[derive(Debug, Args)]
pub(crate) struct CodegenArgs {
    /// The contract: a server's URL (http:// or ws://; without a path, its /asyncapi.json),
    /// or a saved AsyncAPI document.
    #[arg(value_name = "URL_OR_FILE")]
    pub source: String,
    /// Write the declarations to this file (default: standard output).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// The longest wait for the contract, in seconds [default: 10].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
}

/// What `contract` does.
#[derive(Debug, Subcommand)]
pub(crate) enum ContractCommand {
    /// List the changes from OLD to NEW; exit 1 when one breaks clients of OLD (a removed
    /// `Type` or field, a field that became required, a changed field type...).
    #[command(after_help = "Exit codes:
  0  no breaking change
  1  breaking changes (listed as `breaking: ...`)
  2  usage error (an unreadable or invalid document)
  3  connection failure (fetching a URL)

Example:
  exws contract diff asyncapi-v1.json http://127.0.0.1:8765")]
    Diff(DiffArgs),
}

/// The two contracts.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The contract clients were written against (a file or a server's URL).
    #[arg(value_name = "OLD")]
    pub old: String,
    /// The new contract (a file or a server's URL).
    #[arg(value_name = "NEW")]
    pub new: String,
    /// The longest wait for each contract fetched from a URL, in seconds [default: 10].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
}

/// A URL, a `Type` and optional `Data`.
#[derive(Debug, Args)]
pub(crate) struct MessageArgs {
    /// The server's WebSocket URL, e.g. ws://127.0.0.1:8765.
    pub url: String,
    /// The message `Type`, e.g. CalculateRequest.
    #[arg(value_name = "TYPE")]
    pub message_type: String,
    /// The message `Data` as JSON (default: null).
    #[arg(value_name = "DATA_JSON", value_parser = parse_json)]
    pub data: Option<Value>,
    /// The client options.
    #[command(flatten)]
    pub options: GlobalOptions,
}

/// Arguments of `listen`.
#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// The server's WebSocket URL.
    pub url: String,
    /// A message to send once connected, before listening (repeatable), e.g.
    /// --send room.join '{"room":"lobby"}'.
    #[arg(long = "send", num_args = 2, value_names = ["TYPE", "DATA_JSON"])]
    pub send: Vec<String>,
    /// The longest wait for the next message, in seconds, or `never` [default: 300]; after it
    /// `listen` ends with exit code 4.
    #[arg(long, value_name = "SECS|never", value_parser = parse_idle)]
    pub idle: Option<Idle>,
    /// Ask the server for connection recovery, and when the connection is lost, reconnect
    /// and resume: the messages missed meanwhile are printed (in order, before new ones), and
    /// the `exws.session` lines say whether the session was resumed and complete. Ends on
    /// Ctrl-C or `--idle` without a message.
    #[arg(long)]
    pub resume: bool,
    /// The client options (`--id` is not used: `listen` sends no request of its own).
    #[command(flatten)]
    pub options: GlobalOptions,
}

/// `listen --idle`: a limit, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idle {
    /// End after this long without a message.
    After(Duration),
    /// Wait until the server closes or Ctrl-C.
    Never,
}

impl ListenArgs {
    /// The longest wait for the next message; `None` when told to wait forever.
    pub(crate) fn idle_limit(&self) -> Option<Duration> {
        match self.idle.unwrap_or(Idle::After(DEFAULT_LISTEN_IDLE)) {
            Idle::After(limit) => Some(limit),
            Idle::Never => None,
        }
    }
}

impl ListenArgs {
    /// The `--send` pairs, with their `Data` parsed.
    pub(crate) fn messages(&self) -> Result<Vec<(String, Value)>, String> {
        self.send
            .chunks(2)
            .map(|pair| match pair {
                [message_type, data] => Ok((message_type.clone(), parse_json(data)?)),
                _ => Err("--send takes a TYPE and a DATA_JSON".to_owned()),
            })
            .collect()
    }
}

fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|error| format!("not valid JSON: {error}"))
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err("expected 'Name: value'".to_owned()),
    }
}

fn parse_idle(text: &str) -> Result<Idle, String> {
    if text.eq_ignore_ascii_case("never") {
        return Ok(Idle::Never);
    }
    parse_seconds(text).map(Idle::After)
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("expected a number of seconds, got {text:?}"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds < 1e9 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err("expected a positive number of seconds".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_call_with_client_options_before_and_after_the_command() {
        let cli = Cli::try_parse_from([
            "exws",
            "--header",
            "Authorization: tma abc:def",
            "--timeout",
            "9",
            "call",
            "ws://h:1",
            "CalculateRequest",
            r#"{"numbers":[2,2]}"#,
            "--timeout",
            "2.5",
            "--id",
            "7",
            "-H",
            "X-Trace: 1",
        ])
        .unwrap();
        let Command::Call(args) = cli.command else {
            panic!("not call");
        };
        let options = cli.global.merged(&args.options);
        assert_eq!(
            options.headers,
            vec![
                ("Authorization".into(), "tma abc:def".into()),
                ("X-Trace".into(), "1".into())
            ]
        );
        assert_eq!(options.timeout(), Duration::from_millis(2500));
        assert_eq!(options.id.as_deref(), Some("7"));
        assert_eq!(args.message_type, "CalculateRequest");
        assert_eq!(args.data, Some(serde_json::json!({"numbers": [2, 2]})));
    }

    #[test]
    fn gateway_help_shows_only_the_gateways_options() {
        let mut command = Cli::command();
        let gateway = command
            .find_subcommand_mut("gateway")
            .expect("a gateway command");
        let help = gateway.render_long_help().to_string();
        for client_option in ["--header", "--timeout", "--id", "--cacert"] {
            assert!(
                !help.contains(client_option),
                "`exws gateway --help` shows {client_option}:\n{help}"
            );
        }
        assert!(help.contains("--ws-port"), "{help}");
        assert!(help.contains("[default: 8080]"), "{help}");
    }

    #[test]
    fn listen_waits_300_s_for_a_message_by_default_and_never_only_when_told() {
        let listen = |extra: &[&str]| {
            let mut argv = vec!["exws", "listen", "ws://h:1"];
            argv.extend_from_slice(extra);
            match Cli::try_parse_from(argv).unwrap().command {
                Command::Listen(args) => args.idle_limit(),
                other => panic!("parsed {other:?}"),
            }
        };
        assert_eq!(listen(&[]), Some(DEFAULT_LISTEN_IDLE));
        assert_eq!(DEFAULT_LISTEN_IDLE, Duration::from_secs(300));
        assert_eq!(
            listen(&["--idle", "1.5"]),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(listen(&["--idle", "never"]), None);
        let error = Cli::try_parse_from(["exws", "listen", "ws://h:1", "--idle", "0"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
    }

    #[test]
    fn data_is_optional_but_must_be_json() {
        let cli = Cli::try_parse_from(["exws", "send", "ws://h:1", "Ping"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Send(MessageArgs { data: None, .. })
        ));
        let error = Cli::try_parse_from(["exws", "call", "ws://h:1", "T", "{oops"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("not valid JSON"));
    }

    #[test]
    fn bad_headers_and_timeouts_are_usage_errors() {
        for args in [
            ["exws", "--header", "nocolon", "listen", "ws://h:1"],
            ["exws", "--timeout", "0", "listen", "ws://h:1"],
            ["exws", "--timeout", "soon", "listen", "ws://h:1"],
        ] {
            assert_eq!(Cli::try_parse_from(args).unwrap_err().exit_code(), 2);
        }
    }

    #[test]
    fn stream_takes_a_type_and_data_and_the_timeout_is_optional() {
        let cli = Cli::try_parse_from(["exws", "stream", "ws://h:1", "Countdown", r#"{"from":3}"#])
            .unwrap();
        match cli.command {
            Command::Stream(args) => {
                let options = cli.global.merged(&args.options);
                assert_eq!(options.timeout, None);
                assert_eq!(options.timeout(), DEFAULT_TIMEOUT);
                assert_eq!(args.message_type, "Countdown");
                assert_eq!(args.data, Some(serde_json::json!({"from": 3})));
            }
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn listen_takes_send_pairs() {
        let cli = Cli::try_parse_from([
            "exws",
            "listen",
            "ws://h:1",
            "--send",
            "room.join",
            r#"{"room":"a"}"#,
            "--send",
            "Ping",
            "null",
        ])
        .unwrap();
        let Command::Listen(args) = cli.command else {
            panic!("not listen");
        };
        assert_eq!(
            args.messages().unwrap(),
            vec![
                ("room.join".to_owned(), serde_json::json!({"room": "a"})),
                ("Ping".to_owned(), Value::Null)
            ]
        );
        let bad = ListenArgs {
            url: String::new(),
            send: vec!["T".into(), "{".into()],
            idle: None,
            options: GlobalOptions::default(),
            resume: false,
        };
        assert!(bad.messages().is_err());
    }
}
