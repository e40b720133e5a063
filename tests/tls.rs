//! `wss://` served by the standalone server itself (`Server::tls`): the Rust client and the CLI
//! call the calculator with a certificate made by the test; the certificate is reloaded from its
//! files without a restart; bad files give errors that name them; handlers see the TLS session.

mod harness;

use exws::{handlers, message, Connection, Server, TlsConfig, TlsError};
use harness::within;
use serde::Serialize;
use serde_json::{json, Value};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A certificate for `localhost` and `127.0.0.1` with its key, PEM and DER.
struct Certificate {
    cert_pem: String,
    key_pem: String,
    cert_der: Vec<u8>,
}

fn certificate(common_name: &str) -> Certificate {
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("valid names");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let key = rcgen::KeyPair::generate().expect("a key pair");
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    Certificate {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().to_vec(),
    }
}

/// What this test binary logs at `WARN` and above (a failed certificate reload among it),
/// from the first call on.
fn warnings() -> Arc<Mutex<String>> {
    static LOG: OnceLock<Arc<Mutex<String>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(String::new()));
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        log
    })
    .clone()
}

/// Appends what is logged to a shared string.
struct LogWriter(Arc<Mutex<String>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push_str(&String::from_utf8_lossy(bytes));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A temporary folder, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(test: &str) -> Folder {
        let path = std::env::temp_dir().join(format!("exws-tls-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&path).expect("a temporary folder");
        Folder(path)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `certificate` to `cert.pem` and `key.pem`; returns their paths.
    fn write(&self, certificate: &Certificate) -> (PathBuf, PathBuf) {
        let (cert, key) = (self.file("cert.pem"), self.file("key.pem"));
        std::fs::write(&cert, &certificate.cert_pem).expect("the certificate is written");
        std::fs::write(&key, &certificate.key_pem).expect("the key is written");
        (cert, key)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Serialize)]
struct Session {
    server_name: Option<String>,
    alpn: Option<String>,
    version: Option<String>,
}

#[message(type = "tls")]
async fn tls_session(_request: Value, connection: Connection) -> Session {
    let tls = connection.handshake().tls();
    Session {
        server_name: tls.and_then(|tls| tls.server_name()).map(str::to_owned),
        alpn: tls.and_then(|tls| tls.alpn_protocol()).map(str::to_owned),
        version: tls.map(|tls| tls.protocol_version().to_owned()),
    }
}

/// Serves the calculator (and the `tls` handler) over TLS on a free port until the test ends.
async fn serve(tls: TlsConfig) -> SocketAddr {
    let server = within(
        "bind",
        Server::with_handlers(handlers![harness::calculate, tls_session])
            .tls(tls)
            .bind("127.0.0.1:0"),
    )
    .await
    .expect("the TLS server binds");
    let addr = server.local_addr();
    tokio::spawn(server.serve().into_future());
    addr
}

/// A TLS client trusting `roots`, offering ALPN `alpn`.
fn connector(roots: &[&[u8]], alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store
            .add(rustls::pki_types::CertificateDer::from(root.to_vec()))
            .expect("a valid root");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("default versions")
    .with_root_certificates(store)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// The certificate the server at `addr` presents to a new TLS handshake (SNI `localhost`).
async fn presented_certificate(addr: SocketAddr, roots: &[&[u8]]) -> Vec<u8> {
    let tcp = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
    let tls = within(
        "the TLS handshake",
        connector(roots, &[b"http/1.1"]).connect(name, tcp),
    )
    .await
    .expect("the TLS handshake succeeds");
    tls.get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .expect("the server presents a certificate")
        .to_vec()
}

#[tokio::test]
async fn the_rust_client_and_the_cli_call_the_calculator_over_wss() {
    let folder = Folder::new("clients");
    let certificate = certificate("exws test");
    let (cert, key) = folder.write(&certificate);
    let addr = serve(TlsConfig::from_pem_files(&cert, &key).expect("valid files")).await;
    let url = format!("wss://localhost:{}/", addr.port());

    let client = within(
        "the exws client to connect",
        exws_client::Client::builder(&url)
            .add_root_certificate(certificate.cert_der.clone())
            .connect(),
    )
    .await
    .expect("the client connects over TLS");
    let reply = within(
        "the reply",
        client.call_raw("CalculateRequest", json!({ "numbers": [20, 22] })),
    )
    .await
    .expect("a reply over TLS");
    assert_eq!(reply.message_type, "CalculateResponse");
    assert_eq!(reply.data, json!({ "result": 42 }));

    let cli = tokio::task::spawn_blocking(harness::process::cli_binary)
        .await
        .expect("the CLI is built");
    let mut command = std::process::Command::new(cli);
    command
        .arg("--cacert")
        .arg(&cert)
        .args([
            "call",
            &url,
            "CalculateRequest",
            r#"{"numbers": [1, 2, 3]}"#,
        ])
        .env_remove("RUST_LOG");
    let output = within(
        "the CLI",
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("spawn_blocking")
    .expect("the CLI runs");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"result\":6}\n",
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0));
}

#[tokio::test]
async fn changed_files_are_reloaded_and_the_next_handshake_presents_the_new_certificate() {
    let folder = Folder::new("watch");
    let (first, second) = (certificate("first"), certificate("second"));
    let (cert, key) = folder.write(&first);
    let tls = TlsConfig::from_pem_files(&cert, &key)
        .expect("valid files")
        .reload_interval(Duration::from_millis(20));
    let addr = serve(tls).await;
    let roots: [&[u8]; 2] = [&first.cert_der, &second.cert_der];
    assert_eq!(presented_certificate(addr, &roots).await, first.cert_der);

    // Replaced under the running server, no call to `reload`: the polling finds it.
    folder.write(&second);
    within("the new certificate to be served", async {
        while presented_certificate(addr, &roots).await != second.cert_der {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn reload_on_demand_takes_new_files_and_a_failed_one_keeps_the_old_certificate() {
    let folder = Folder::new("reload");
    let (first, second, third) = (
        certificate("first"),
        certificate("second"),
        certificate("third"),
    );
    let (cert, key) = folder.write(&first);
    // Polled too rarely to matter: only `reload` changes the certificate here.
    let tls = TlsConfig::from_pem_files(&cert, &key)
        .expect("valid files")
        .reload_interval(Duration::from_secs(3600));
    let addr = serve(tls.clone()).await;
    let roots: [&[u8]; 3] = [&first.cert_der, &second.cert_der, &third.cert_der];
    assert_eq!(presented_certificate(addr, &roots).await, first.cert_der);

    folder.write(&second);
    tls.reload().expect("the new files load");
    assert_eq!(presented_certificate(addr, &roots).await, second.cert_der);

    // A certificate with another certificate's key: refused, and the server goes on with the
    // certificate it had.
    std::fs::write(&cert, &third.cert_pem).expect("written");
    let error = tls
        .reload()
        .expect_err("the key does not match the certificate");
    assert!(matches!(error, TlsError::KeyMismatch { .. }), "{error:?}");
    assert_eq!(presented_certificate(addr, &roots).await, second.cert_der);
    // The matching key arrives: the pair loads.
    std::fs::write(&key, &third.key_pem).expect("written");
    tls.reload().expect("the pair loads");
    assert_eq!(presented_certificate(addr, &roots).await, third.cert_der);
}

#[tokio::test]
async fn a_failed_reload_from_the_files_keeps_serving_the_old_certificate() {
    let folder = Folder::new("broken");
    let first = certificate("first");
    let (cert, key) = folder.write(&first);
    let tls = TlsConfig::from_pem_files(&cert, &key)
        .expect("valid files")
        .reload_interval(Duration::from_millis(10));
    let warnings = warnings();
    let addr = serve(tls).await;
    std::fs::write(&key, "not a key").expect("written");
    // The watcher's poll finds the broken pair and says so: reloading ran, and failed.
    harness::wait_for("the watcher to try the broken files", || {
        let warnings = warnings.lock().unwrap_or_else(|poison| poison.into_inner());
        warnings
            .lines()
            .any(|line| line.contains("cannot be loaded") && line.contains("-broken"))
    })
    .await;
    assert_eq!(
        presented_certificate(addr, &[&first.cert_der]).await,
        first.cert_der
    );
}

#[tokio::test]
async fn handlers_see_the_tls_session() {
    let certificate = harness::transport::test_certificate();
    let folder = Folder::new("info");
    let (cert, key) = (folder.file("cert.pem"), folder.file("key.pem"));
    std::fs::write(&cert, &certificate.cert_pem).expect("written");
    std::fs::write(&key, &certificate.key_pem).expect("written");
    let addr = serve(TlsConfig::from_pem_files(&cert, &key).expect("valid files")).await;

    let tcp = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
    let tls = within(
        "the TLS handshake",
        harness::transport::tls_connector().connect(name, tcp),
    )
    .await
    .expect("the TLS handshake succeeds");
    let (ws, _) = within(
        "the upgrade",
        tokio_tungstenite::client_async(
            "wss://localhost/",
            Box::new(tls) as harness::transport::TestStream,
        ),
    )
    .await
    .expect("the upgrade succeeds");
    let mut client = harness::Client::from_websocket(ws);
    let reply = client.call("tls", json!({})).await;
    assert_eq!(
        reply["Data"],
        json!({ "server_name": "localhost", "alpn": "http/1.1", "version": "TLSv1.3" }),
        "{reply}"
    );

    // Over plain TCP there is no TLS session.
    let plain = within(
        "bind",
        Server::with_handlers(handlers![tls_session]).bind("127.0.0.1:0"),
    )
    .await
    .expect("binds");
    let plain_addr = plain.local_addr();
    tokio::spawn(plain.serve().into_future());
    let tcp = within("TCP connect", TcpStream::connect(plain_addr))
        .await
        .expect("TCP connect");
    let (ws, _) = within(
        "the upgrade",
        tokio_tungstenite::client_async(
            "ws://localhost/",
            Box::new(tcp) as harness::transport::TestStream,
        ),
    )
    .await
    .expect("the upgrade succeeds");
    let mut client = harness::Client::from_websocket(ws);
    let reply = client.call("tls", json!({})).await;
    assert_eq!(
        reply["Data"],
        json!({ "server_name": null, "alpn": null, "version": null })
    );
}

#[tokio::test]
async fn a_client_without_tls_or_with_garbage_does_not_disturb_others() {
    let certificate = harness::transport::test_certificate();
    let folder = Folder::new("garbage");
    let (cert, key) = (folder.file("cert.pem"), folder.file("key.pem"));
    std::fs::write(&cert, &certificate.cert_pem).expect("written");
    std::fs::write(&key, &certificate.key_pem).expect("written");
    let addr = serve(TlsConfig::from_pem_files(&cert, &key).expect("valid files")).await;

    // A plain-text upgrade on the TLS port: not a ClientHello, so the server hangs up.
    let mut tcp = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect");
    within(
        "writing",
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n"),
    )
    .await
    .expect("written");
    let mut buffer = Vec::new();
    let _ = within("the server to hang up", tcp.read_to_end(&mut buffer)).await;
    assert!(
        !String::from_utf8_lossy(&buffer).contains("HTTP/1.1"),
        "no HTTP answer in clear text: {buffer:?}"
    );

    // A client that offers only `h2`: ALPN has nothing in common, the handshake fails.
    let tcp = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
    let refused = within(
        "the TLS handshake",
        connector(&[&certificate.cert_der], &[b"h2"]).connect(name, tcp),
    )
    .await;
    assert!(refused.is_err(), "ALPN without http/1.1 is refused");

    // Meanwhile, a proper client is served.
    assert_eq!(
        presented_certificate(addr, &[&certificate.cert_der]).await,
        certificate.cert_der
    );
}

#[test]
fn bad_files_give_errors_that_name_them() {
    let folder = Folder::new("errors");
    let (good, other) = (certificate("good"), certificate("other"));
    let (cert, key) = folder.write(&good);
    let missing = folder.file("missing.pem");
    let message = |error: TlsError| error.to_string();

    let error = TlsConfig::from_pem_files(&missing, &key).expect_err("a missing certificate");
    assert!(matches!(error, TlsError::Read { .. }), "{error:?}");
    let text = message(error);
    assert!(text.contains(&missing.display().to_string()), "{text}");

    let error = TlsConfig::from_pem_files(&cert, &missing).expect_err("a missing key");
    let text = message(error);
    assert!(text.contains(&missing.display().to_string()), "{text}");

    // The files swapped: no certificate in the key file, no key in the certificate file.
    let error = TlsConfig::from_pem_files(&key, &cert).expect_err("swapped files");
    assert!(matches!(error, TlsError::NoCertificate { .. }), "{error:?}");
    let text = message(error);
    assert!(text.contains("holds no certificate"), "{text}");
    assert!(text.contains(&key.display().to_string()), "{text}");

    let error = TlsConfig::from_pem_files(&cert, &cert).expect_err("no key");
    assert!(matches!(error, TlsError::NoPrivateKey { .. }), "{error:?}");
    assert!(message(error).contains("holds no private key"));

    let other_key = folder.file("other-key.pem");
    std::fs::write(&other_key, &other.key_pem).expect("written");
    let error = TlsConfig::from_pem_files(&cert, &other_key).expect_err("a mismatched key");
    assert!(matches!(error, TlsError::KeyMismatch { .. }), "{error:?}");
    let text = message(error);
    assert!(text.contains("does not match the certificate"), "{text}");
    assert!(text.contains(&other_key.display().to_string()), "{text}");
    assert!(text.contains(&cert.display().to_string()), "{text}");

    let garbage = folder.file("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\n!!!\n").expect("written");
    let error = TlsConfig::from_pem_files(&garbage, &key).expect_err("broken PEM");
    assert!(matches!(error, TlsError::Pem { .. }), "{error:?}");
}

#[test]
fn a_rustls_configuration_is_not_reloadable() {
    let error = harness::transport::test_tls_config()
        .reload()
        .expect_err("exws cannot reload a rustls ServerConfig");
    assert!(matches!(error, TlsError::NotReloadable), "{error:?}");
    assert!(error.to_string().contains("from_pem_files"));
}

/// The example as a person runs it: with the files it serves `wss://`, without them it says
/// what to set and exits with 1.
#[tokio::test]
async fn the_tls_example_serves_wss_and_explains_missing_settings() {
    let binary = tokio::task::spawn_blocking(|| harness::process::example_binary("tls"))
        .await
        .expect("the example is built");
    let output = std::process::Command::new(&binary)
        .env_remove("EXWS_TLS_CERT")
        .env_remove("EXWS_TLS_KEY")
        .env_remove("RUST_LOG")
        .output()
        .expect("the example runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("EXWS_TLS_CERT is not set"), "{stderr}");

    let folder = Folder::new("example");
    let missing = folder.file("nope.pem");
    let output = std::process::Command::new(&binary)
        .env("EXWS_TLS_CERT", &missing)
        .env("EXWS_TLS_KEY", &missing)
        .env_remove("RUST_LOG")
        .output()
        .expect("the example runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");

    let certificate = harness::transport::test_certificate();
    let (cert, key) = (folder.file("cert.pem"), folder.file("key.pem"));
    std::fs::write(&cert, &certificate.cert_pem).expect("written");
    std::fs::write(&key, &certificate.key_pem).expect("written");
    let (child, addr) = start_example(&binary, &cert, &key).await;
    let _child = child;
    let url = format!("wss://localhost:{}/", addr.port());
    let client = within(
        "the exws client to connect",
        exws_client::Client::builder(&url)
            .add_root_certificate(certificate.cert_der.clone())
            .connect(),
    )
    .await
    .expect("the client connects to the example");
    let reply = within(
        "the reply",
        client.call_raw("CalculateRequest", json!({ "numbers": [2, 2] })),
    )
    .await
    .expect("a reply");
    assert_eq!(reply.data, json!({ "result": 4 }));
}

/// A child process killed when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the TLS example on a free port; returns it and the address it printed.
async fn start_example(binary: &Path, cert: &Path, key: &Path) -> (Child, SocketAddr) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(binary)
        .env("EXWS_ADDR", "127.0.0.1:0")
        .env("EXWS_TLS_CERT", cert)
        .env("EXWS_TLS_KEY", key)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the example starts");
    let stdout = child.stdout.take().expect("piped");
    let child = Child(child);
    let line = within(
        "the example's address",
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            line
        }),
    )
    .await
    .expect("read a line");
    let addr = line
        .trim()
        .strip_prefix("exws listening on wss://")
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (child, addr)
}

/// A TLS client that only speaks TLS 1.2, trusting `root`.
fn tls12_connector(root: &[u8]) -> tokio_rustls::TlsConnector {
    let mut store = rustls::RootCertStore::empty();
    store
        .add(rustls::pki_types::CertificateDer::from(root.to_vec()))
        .expect("a valid root");
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12])
    .expect("TLS 1.2")
    .with_root_certificates(store)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn a_tls_1_2_client_is_served() {
    let folder = Folder::new("tls12");
    let certificate = certificate("tls 1.2");
    let (cert, key) = folder.write(&certificate);
    let addr = serve(TlsConfig::from_pem_files(&cert, &key).expect("valid files")).await;

    let tcp = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
    let tls = within(
        "the TLS 1.2 handshake",
        tls12_connector(&certificate.cert_der).connect(name, tcp),
    )
    .await
    .expect("the server accepts TLS 1.2");
    let (ws, _) = within(
        "the upgrade",
        tokio_tungstenite::client_async(
            "wss://localhost/",
            Box::new(tls) as harness::transport::TestStream,
        ),
    )
    .await
    .expect("the upgrade succeeds");
    let mut client = harness::Client::from_websocket(ws);
    let reply = client.call("tls", json!({})).await;
    assert_eq!(reply["Data"]["version"], "TLSv1.2", "{reply}");
    let reply = client
        .call("CalculateRequest", json!({"numbers": [40, 2]}))
        .await;
    assert_eq!(reply["Data"], json!({"result": 42}), "{reply}");
}

#[tokio::test]
async fn a_tls_handshake_that_never_completes_is_dropped_at_the_handshake_timeout() {
    let folder = Folder::new("slow-hello");
    let (cert, key) = folder.write(&certificate("slow hello"));
    let server = within(
        "bind",
        Server::with_handlers(handlers![harness::calculate])
            .tls(TlsConfig::from_pem_files(&cert, &key).expect("valid files"))
            .handshake_timeout(Duration::from_millis(200))
            .bind("127.0.0.1:0"),
    )
    .await
    .expect("the TLS server binds");
    let addr = server.local_addr();
    tokio::spawn(server.serve().into_future());

    // The header of a TLS handshake record announcing 512 bytes, then nothing: without the
    // timeout the server would wait for the rest forever (and the test would time out).
    let mut tcp = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect");
    tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .await
        .expect("written");
    let mut rest = Vec::new();
    let read = within(
        "the server to drop the stalled handshake",
        tcp.read_to_end(&mut rest),
    )
    .await;
    assert!(
        rest.is_empty() || rest[0] == 0x15,
        "the server sent nothing but perhaps a TLS alert: {rest:?} ({read:?})"
    );
}
