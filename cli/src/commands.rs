//! `call`, `send`, `stream` and `listen`.

use crate::args::{GlobalOptions, ListenArgs, MessageArgs};
use crate::exit::{Failure, CONNECTION, INTERRUPTED, TIMEOUT, USAGE, WRONG_KIND};
use exws_client::{
    Client, ClientBuilder, ConnectionState, Envelope, Id, ItemStream, RecvError, StreamOptions,
};
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

/// How long an interrupted `stream` waits for the server to confirm the cancel.
const CANCEL_GRACE: Duration = Duration::from_secs(2);

/// How long `call` waits after the reply for a sign that the `Type` answers with a stream (a
/// second item or `StreamEnd` with the request's `Id`). The wire has no other mark telling a
/// reply from a stream's first item.
const STREAM_CHECK: Duration = Duration::from_millis(200);

fn builder(url: &str, global: &GlobalOptions) -> Result<ClientBuilder, Failure> {
    let mut builder = global
        .headers
        .iter()
        .fold(ClientBuilder::new(url), |builder, (name, value)| {
            builder.header(name, value)
        })
        .connect_timeout(global.timeout())
        .call_timeout(global.timeout())
        .reconnect(false);
    for path in &global.ca_certificates {
        for der in certificates(path)? {
            builder = builder.add_root_certificate(der);
        }
    }
    Ok(builder)
}

/// The certificates of a `--cacert` file: every `CERTIFICATE` block of a PEM file, or the
/// whole file as DER.
fn certificates(path: &std::path::Path) -> Result<Vec<Vec<u8>>, Failure> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let unusable =
        |reason: String| Failure::new(USAGE, format!("--cacert {}: {reason}", path.display()));
    let bytes = std::fs::read(path).map_err(|error| unusable(error.to_string()))?;
    if !bytes.starts_with(b"-----BEGIN") {
        return Ok(vec![bytes]);
    }
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .map(|certificate| certificate.map(|der| der.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| unusable(format!("not a PEM certificate file: {error}")))?;
    if certificates.is_empty() {
        return Err(unusable("no CERTIFICATE block in the file".to_owned()));
    }
    Ok(certificates)
}

async fn connect(url: &str, global: &GlobalOptions) -> Result<Client, Failure> {
    builder(url, global)?
        .connect()
        .await
        .map_err(|error| Failure::connect(url, error))
}

/// `exws call`: prints the reply's `Data` as compact JSON. The request is opened as a
/// stream so that a `Type` answered with one is noticed instead of passing for a reply.
pub(crate) async fn call(global: &GlobalOptions, args: MessageArgs) -> Result<(), Failure> {
    let client = connect(&args.url, global).await?;
    let opened = client
        .stream_raw_with(
            &args.message_type,
            args.data.unwrap_or(Value::Null),
            stream_options(global),
        )
        .await;
    let result = match opened {
        Ok(items) => print_reply(&args.message_type, items, global.timeout()).await,
        Err(error) => Err(Failure::stream(error)),
    };
    client.close().await;
    result
}

/// Prints the one reply of `items`; a second item or a `StreamEnd` soon after means a stream.
async fn print_reply(
    message_type: &str,
    mut items: ItemStream<Envelope>,
    limit: Duration,
) -> Result<(), Failure> {
    let reply = match tokio::time::timeout(limit, items.next_item()).await {
        Err(_) => {
            cancel(items).await;
            let limit = limit.as_secs_f64();
            return Err(Failure::new(TIMEOUT, format!("no reply within {limit} s")));
        }
        Ok(Some(Ok(reply))) => reply,
        Ok(Some(Err(error))) => return Err(Failure::stream(error)),
        Ok(None) => {
            return Err(Failure::new(
                WRONG_KIND,
                format!(
                    "{message_type:?} answered with a stream that ended without an item: use \
                     `exws stream`"
                ),
            ))
        }
    };
    print_line(&reply.data.to_string());
    match tokio::time::timeout(STREAM_CHECK, items.next_item()).await {
        // One reply and nothing after it: a reply. (The client's `StreamCancel` for the `Id`
        // when `items` is dropped is ignored by the server: no stream is open.)
        Err(_) => Ok(()),
        Ok(Some(Err(error))) => Err(Failure::stream(error)),
        Ok(more) => {
            if more.is_some() {
                cancel(items).await;
            }
            Err(Failure::new(
                WRONG_KIND,
                format!(
                    "{message_type:?} answers with a stream, not one reply: printed its first \
                     item only; use `exws stream` for every item"
                ),
            ))
        }
    }
}

fn stream_options(global: &GlobalOptions) -> StreamOptions {
    match &global.id {
        Some(id) => StreamOptions::new().id(Id::parse(id)),
        None => StreamOptions::new(),
    }
}

/// `exws send`: sends one message, then closes cleanly.
pub(crate) async fn send(global: &GlobalOptions, args: MessageArgs) -> Result<(), Failure> {
    let client = connect(&args.url, global).await?;
    let mut envelope = Envelope::new(args.message_type, args.data.unwrap_or(Value::Null));
    envelope.id = global.id.as_deref().map(Id::parse);
    let sent = client.send_envelope(envelope).await;
    // `close` writes everything queued before it.
    client.close().await;
    sent.map_err(Failure::send)
}

/// `exws stream`: prints the `Data` of each item as a compact JSON line until `StreamEnd`.
pub(crate) async fn stream(global: &GlobalOptions, args: MessageArgs) -> Result<(), Failure> {
    let client = connect(&args.url, global).await?;
    let opened = client
        .stream_raw_with(
            &args.message_type,
            args.data.unwrap_or(Value::Null),
            stream_options(global),
        )
        .await;
    let result = match opened {
        Ok(items) => print_items(&args.message_type, items, global.timeout()).await,
        Err(error) => Err(Failure::stream(error)),
    };
    client.close().await;
    result
}

/// Prints the items of `items` until it ends, fails, waits longer than `idle` for an item,
/// stdout closes or Ctrl-C (the last three cancel the stream). One item and then silence
/// until `idle` is a reply, not a stream: reported as such.
async fn print_items(
    message_type: &str,
    mut items: ItemStream<Envelope>,
    idle: Duration,
) -> Result<(), Failure> {
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut printed = 0_u64;
    loop {
        let next = tokio::time::timeout(idle, items.next_item());
        tokio::select! {
            next = next => match next {
                Ok(Some(Ok(envelope))) => {
                    printed += 1;
                    if !print_line(&envelope.data.to_string()) {
                        // stdout is gone (e.g. `exws stream ... | head -n 3`): stop the stream.
                        cancel(items).await;
                        return Ok(());
                    }
                }
                Ok(Some(Err(error))) => return Err(Failure::stream(error)),
                Ok(None) => return Ok(()),
                Err(_) => {
                    cancel(items).await;
                    let limit = idle.as_secs_f64();
                    if printed == 1 {
                        return Err(Failure::new(
                            WRONG_KIND,
                            format!(
                                "{message_type:?} sent one reply and no StreamEnd within \
                                 {limit} s: it answers with one reply, not a stream (use \
                                 `exws call`; for a slower stream, raise --timeout)"
                            ),
                        ));
                    }
                    return Err(Failure::new(TIMEOUT, format!("no stream item within {limit} s")));
                }
            },
            _ = &mut interrupted => {
                cancel(items).await;
                return Err(Failure::new(INTERRUPTED, "interrupted: the stream was cancelled"));
            }
        }
    }
}

/// Cancels the stream, waiting briefly for the server's `StreamEnd`.
async fn cancel(items: ItemStream<Envelope>) {
    match tokio::time::timeout(CANCEL_GRACE, items.cancel()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("warning: cancelling the stream: {error}"),
        Err(_) => eprintln!("warning: the server did not confirm the cancel in time"),
    }
}

/// `exws listen`: prints every incoming envelope as a JSON line until the server closes,
/// Ctrl-C, or `--idle` without a message.
pub(crate) async fn listen(global: &GlobalOptions, args: ListenArgs) -> Result<(), Failure> {
    let idle = args.idle_limit();
    let messages = args
        .messages()
        .map_err(|message| Failure::new(USAGE, message))?;
    let mut builder = builder(&args.url, global)?;
    if args.resume {
        builder = builder.recover(true).reconnect_policy(
            exws_client::ReconnectPolicy::default()
                .initial_delay(std::time::Duration::from_millis(100))
                .max_delay(std::time::Duration::from_secs(5)),
        );
    }
    let (client, mut events) = builder
        .connect_with_events()
        .await
        .map_err(|error| Failure::connect(&args.url, error))?;
    for (message_type, data) in messages {
        client
            .send_as(&message_type, &data)
            .await
            .map_err(Failure::send)?;
    }
    let mut state = client.state();
    let ended = loop {
        let next = async {
            match idle {
                Some(limit) => tokio::time::timeout(limit, events.recv()).await.ok(),
                None => Some(events.recv().await),
            }
        };
        tokio::select! {
            item = next => match item {
                Some(Some(item)) => {
                    if !print_event(item) {
                        break ConnectionState::Offline;
                    }
                }
                Some(None) => break ConnectionState::Offline,
                None => {
                    client.close().await;
                    let limit = idle.unwrap_or_default().as_secs_f64();
                    return Err(Failure::new(
                        TIMEOUT,
                        format!("no message within {limit} s (--idle; `--idle never` waits until the server closes)"),
                    ));
                }
            },
            changed = state.wait_for(|state| !state.is_online()), if !args.resume => {
                let ended = changed.map(|state| state.clone()).unwrap_or(ConnectionState::Offline);
                // Everything received before the connection ended is already buffered.
                while let Some(item) = events.try_recv() {
                    if !print_event(item) {
                        break;
                    }
                }
                break ended;
            }
            _ = tokio::signal::ctrl_c() => {
                client.close().await;
                break ConnectionState::Offline;
            }
        }
    };
    match ended {
        ConnectionState::Error(reason) => Err(Failure::new(
            CONNECTION,
            format!("connection lost: {reason}"),
        )),
        _ => Ok(()),
    }
}

/// Prints one event; `false` when stdout is gone (e.g. `exws listen | head`).
fn print_event(item: Result<Envelope, RecvError>) -> bool {
    match item {
        Ok(envelope) => print_line(&envelope.to_json()),
        Err(error) => {
            eprintln!("warning: {error}");
            true
        }
    }
}

/// Writes one line to stdout and flushes it; `false` if stdout is closed.
fn print_line(line: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_ok()
}
