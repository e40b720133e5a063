//! A fast backend for the gateway benchmark, over the gateway's line protocol: admits every
//! client (its `client_id` is the request's id) and sends each `new_message` back to its
//! sender unchanged (`message_to_connection`). `--connections` backend sockets, each read and
//! answered by its own task, writes batched while input is buffered.

use clap::Parser;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::net::SocketAddr;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;

#[derive(Parser)]
#[command(about = "echo backend for exws gateway (benchmark)")]
struct Args {
    /// The gateway's backend address.
    #[arg(long)]
    backend: SocketAddr,
    /// Backend connections to open.
    #[arg(long, default_value_t = 2)]
    connections: usize,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(borrow)]
    request_id: Cow<'a, str>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow, default)]
    params: Params<'a>,
}

#[derive(Deserialize, Default)]
struct Params<'a> {
    #[serde(borrow, default)]
    context: Option<ClientContext<'a>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ClientContext<'a> {
    #[serde(borrow)]
    client_id: Cow<'a, str>,
}

#[derive(Serialize)]
struct Outgoing<'a, P> {
    request_id: &'a str,
    action: &'a str,
    params: P,
}

#[derive(Serialize)]
struct Admit<'a> {
    accepted: bool,
    client_id: &'a str,
    room_id: &'a str,
}

#[derive(Serialize)]
struct Echo<'a> {
    conn_id: &'a str,
    message: &'a str,
}

async fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    let mut reader = BufReader::with_capacity(256 * 1024, read);
    let mut writer = BufWriter::with_capacity(256 * 1024, write);
    let mut line = String::new();
    let mut out = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        if let Some(answer) = answer(&line, &mut out)? {
            writer.write_all(answer).await?;
        }
        // Flush once nothing more is buffered, after every line (one that needs no answer
        // too): answers must not wait in the buffer for a line that may never come.
        if reader.buffer().is_empty() {
            writer.flush().await?;
        }
    }
}

/// The answer to one line from the gateway, written into `out`: a `response` admitting the
/// client, or the `new_message` back to its sender; `None` for the other events.
fn answer<'o>(line: &str, out: &'o mut Vec<u8>) -> std::io::Result<Option<&'o [u8]>> {
    let Ok(event) = serde_json::from_str::<Incoming<'_>>(line) else {
        return Ok(None);
    };
    out.clear();
    match event.action.as_ref() {
        "connection_request" => {
            let params = Admit {
                accepted: true,
                client_id: &event.request_id,
                room_id: "bench",
            };
            serde_json::to_writer(
                &mut *out,
                &Outgoing {
                    request_id: &event.request_id,
                    action: "response",
                    params,
                },
            )?;
        }
        "new_message" => {
            let (Some(context), Some(message)) = (&event.params.context, &event.params.message)
            else {
                return Ok(None);
            };
            let params = Echo {
                conn_id: &context.client_id,
                message,
            };
            serde_json::to_writer(
                &mut *out,
                &Outgoing {
                    request_id: "e",
                    action: "message_to_connection",
                    params,
                },
            )?;
        }
        _ => return Ok(None),
    }
    out.push(b'\n');
    Ok(Some(out.as_slice()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    // Every socket connected before the line that says so: a benchmark starting its clients
    // then finds the backends there (else the gateway refuses them: no backend).
    let mut streams = Vec::new();
    for _ in 0..args.connections.max(1) {
        streams.push(TcpStream::connect(args.backend).await?);
    }
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|stream| tokio::spawn(serve(stream)))
        .collect();
    println!("connected {} backend sockets", tasks.len());
    std::io::Write::flush(&mut std::io::stdout())?;
    for task in tasks {
        if let Ok(Err(error)) = task.await {
            eprintln!("a backend socket failed: {error}");
        }
    }
    Ok(())
}
