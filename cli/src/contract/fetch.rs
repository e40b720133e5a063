//! A plain HTTP/1.1 `GET` of a contract, enough for a server's `/asyncapi.json`.

use crate::exit::{Failure, CONNECTION, TIMEOUT, USAGE};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The most a document may weigh.
const MAX_BODY: usize = 32 << 20;

/// Whether `source` is a URL rather than a file path.
pub(super) fn is_url(source: &str) -> bool {
    source.contains("://")
}

/// Where to connect and what to ask for.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    authority: String,
    path: String,
}

fn target(url: &str) -> Result<Target, Failure> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    match scheme {
        "http" | "ws" => {}
        "https" | "wss" => {
            return Err(Failure::new(
                USAGE,
                format!(
                    "{url}: only plain http:// (or ws://) is fetched; save the document (e.g. \
                     curl -o asyncapi.json {url}) and pass the file"
                ),
            ))
        }
        _ => {
            return Err(Failure::new(
                USAGE,
                format!("{url}: expected an http:// or ws:// URL, or a file"),
            ))
        }
    }
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(Failure::new(
            USAGE,
            format!("{url}: no host:port in the URL"),
        ));
    }
    let path = if path.is_empty() || path == "/" {
        "/asyncapi.json".to_owned()
    } else {
        path.to_owned()
    };
    let authority = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok(Target { authority, path })
}

/// `GET`s `url` and returns the body of a 200 answer.
pub(super) async fn get(url: &str, timeout: Duration) -> Result<String, Failure> {
    let target = target(url)?;
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&target.authority)
            .await
            .map_err(|error| {
                Failure::new(CONNECTION, format!("cannot connect to {url}: {error}"))
            })?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
            target.path, target.authority
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|error| Failure::new(CONNECTION, format!("{url}: {error}")))?;
        let mut response = Vec::new();
        (&mut stream)
            .take(MAX_BODY as u64 + 64 * 1024)
            .read_to_end(&mut response)
            .await
            .map_err(|error| Failure::new(CONNECTION, format!("{url}: {error}")))?;
        Ok::<_, Failure>(response)
    };
    let response = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| {
            Failure::new(
                TIMEOUT,
                format!("{url}: no answer within {} s", timeout.as_secs_f64()),
            )
        })??;
    body(&response).map_err(|reason| Failure::new(CONNECTION, format!("{url}: {reason}")))
}

/// The body of a complete HTTP/1.1 response, if its status is 200.
fn body(response: &[u8]) -> Result<String, String> {
    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or("the answer is not HTTP")?;
    let head = std::str::from_utf8(&response[..split]).map_err(|_| "the answer is not HTTP")?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split(' ').nth(1).unwrap_or_default();
    if code != "200" {
        return Err(format!(
            "the server answered {status:?}: does it serve its contract? (exws: feature \
             `schema` and `Server::serve_asyncapi`)"
        ));
    }
    let chunked = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
        })
    });
    let raw = &response[split + 4..];
    let bytes = if chunked { dechunk(raw)? } else { raw.to_vec() };
    if bytes.len() > MAX_BODY {
        return Err(format!("the document is over {MAX_BODY} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "the document is not UTF-8".to_owned())
}

/// The payload of a `Transfer-Encoding: chunked` body.
fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|window| window == b"\r\n")
            .ok_or("a truncated chunked body")?;
        let size_text = std::str::from_utf8(&raw[..line_end]).map_err(|_| "a bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "a bad chunk size")?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if raw.len() < size + 2 || out.len() + size > MAX_BODY {
            return Err("a truncated or oversized chunked body".to_owned());
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_servers_document() {
        let plain = target("http://127.0.0.1:8765")
            .map_err(|f| f.message)
            .unwrap();
        assert_eq!(
            plain,
            Target {
                authority: "127.0.0.1:8765".into(),
                path: "/asyncapi.json".into()
            }
        );
        let ws = target("ws://localhost/").map_err(|f| f.message).unwrap();
        assert_eq!(ws.authority, "localhost:80");
        assert_eq!(ws.path, "/asyncapi.json");
        let explicit = target("http://h:1/api/contract.json")
            .map_err(|f| f.message)
            .unwrap();
        assert_eq!(explicit.path, "/api/contract.json");
        assert_eq!(target("https://h/").unwrap_err().code, USAGE);
        assert_eq!(target("ftp://h/").unwrap_err().code, USAGE);
    }

    #[test]
    fn bodies_plain_and_chunked() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(body(plain).unwrap(), "{}");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n3\r\na\":\r\n2\r\n1}\r\n0\r\n\r\n";
        assert_eq!(body(chunked).unwrap(), "{\"a\":1}");
        assert!(body(b"HTTP/1.1 404 Not Found\r\n\r\n")
            .unwrap_err()
            .contains("404"));
        assert!(body(b"garbage").is_err());
        assert!(body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err());
    }
}
