//! TLS in the standalone server (feature `tls`): rustls with the *ring* provider, a
//! certificate read from PEM files and reloaded when they change, and the TLS accept of each
//! connection.

use super::Endpoint;
use crate::handshake::TlsInfo;
use crate::session::{self, Accepted, ConnectionSlot, TlsHandshake};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// How often the certificate files are checked for changes unless
/// [`TlsConfig::reload_interval`] says otherwise.
const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(30);

/// The TLS settings of a standalone server, for [`Server::tls`](crate::Server::tls)
/// (feature `tls`).
///
/// Made from PEM files with [`from_pem_files`](TlsConfig::from_pem_files), the certificate is
/// **reloaded without a restart**: the serving server checks the files' modification time and
/// size every [`reload_interval`](TlsConfig::reload_interval) (default 30 s) and, when they
/// changed, loads them; [`reload`](TlsConfig::reload) does it at once (call it from a signal
/// handler, for instance: every clone of a `TlsConfig` shares one certificate). New
/// connections get the new certificate; open ones keep the session they have. A reload that
/// fails (a missing file, a key that does not match) keeps the current certificate and logs a
/// warning. Each pair of files is checked as a whole, so a certificate written before its key
/// is taken once the key has been written too.
///
/// The server offers ALPN `http/1.1` and speaks TLS 1.2 and 1.3.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let tls = exws::TlsConfig::from_pem_files("/etc/exws/fullchain.pem", "/etc/exws/key.pem")?
///     .reload_interval(std::time::Duration::from_secs(60));
/// exws::Server::new().tls(tls).listen("0.0.0.0:8443").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    server_config: Arc<ServerConfig>,
    files: Option<Arc<CertificateFiles>>,
    reload_interval: Duration,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("TlsConfig");
        match &self.files {
            Some(files) => debug
                .field("cert_chain", &files.cert_path)
                .field("key", &files.key_path)
                .field("reload_interval", &self.reload_interval),
            None => debug.field("rustls", &"ServerConfig"),
        };
        debug.finish()
    }
}

/// Why TLS could not be configured or its certificate reloaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file could not be read.
    #[error(
        "cannot read {}: {source} (check the path and that the server may read the file)",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid PEM.
    #[error(
        "{} is not a valid PEM file: {reason} (expected `-----BEGIN ...-----` blocks)",
        path.display()
    )]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        reason: String,
    },
    /// The certificate file holds no certificate.
    #[error(
        "{} holds no certificate: put the certificate chain in it as PEM \
         `-----BEGIN CERTIFICATE-----` blocks, the server's certificate first",
        path.display()
    )]
    NoCertificate {
        /// The certificate file.
        path: PathBuf,
    },
    /// The key file holds no private key.
    #[error(
        "{} holds no private key: put the server's key in it as a PEM `PRIVATE KEY`, \
         `RSA PRIVATE KEY` or `EC PRIVATE KEY` block",
        path.display()
    )]
    NoPrivateKey {
        /// The key file.
        path: PathBuf,
    },
    /// The private key is of a kind rustls cannot sign with.
    #[error(
        "the private key in {} cannot be used: {reason} (use an RSA, ECDSA P-256/P-384 or \
         Ed25519 key)",
        path.display()
    )]
    UnsupportedKey {
        /// The key file.
        path: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// The server's certificate cannot be parsed.
    #[error("the first certificate in {} cannot be used: {reason}", path.display())]
    BadCertificate {
        /// The certificate file.
        path: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// The private key is not the key of the certificate.
    #[error(
        "the private key in {} does not match the certificate in {}: use the key the \
         certificate was issued for (the chain's first certificate is the server's)",
        key.display(),
        cert.display()
    )]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the configuration.
    #[error("cannot configure TLS: {0}")]
    Rustls(#[source] rustls::Error),
    /// [`TlsConfig::reload`] on a configuration made with [`TlsConfig::from_rustls`].
    #[error(
        "this TLS configuration was made from a rustls ServerConfig, which exws cannot reload: \
         use TlsConfig::from_pem_files, or give rustls a certificate resolver of your own"
    )]
    NotReloadable,
}

impl TlsConfig {
    /// TLS with the certificate chain (PEM `CERTIFICATE` blocks, the server's certificate
    /// first) and private key (PEM PKCS#8, PKCS#1 or SEC1) of these files, reloaded when they
    /// change (see [`TlsConfig`]). Fails, naming the file, if one cannot be read, holds no
    /// certificate or key, or if the key does not match the certificate.
    pub fn from_pem_files(
        cert_chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<TlsConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cert_path = cert_chain_path.as_ref().to_owned();
        let key_path = key_path.as_ref().to_owned();
        let stamp = stamp(&cert_path, &key_path);
        let key = load(&cert_path, &key_path, &provider)?;
        let files = CertificateFiles {
            cert_path,
            key_path,
            provider: provider.clone(),
            current: RwLock::new(Arc::new(key)),
            last_seen: Mutex::new(Some(stamp)),
        };
        let files = Arc::new(files);
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rustls)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver(files.clone())));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig {
            server_config: Arc::new(config),
            files: Some(files),
            reload_interval: DEFAULT_RELOAD_INTERVAL,
        })
    }

    /// TLS with a rustls configuration of your own (client certificates, other providers, a
    /// certificate resolver). It is used as given, except that ALPN `http/1.1` is set if it
    /// names no protocol. exws cannot reload it: [`reload`](TlsConfig::reload) fails, and
    /// nothing is polled; reload certificates with a `ResolvesServerCert` of your own.
    pub fn from_rustls(config: Arc<ServerConfig>) -> TlsConfig {
        let server_config = if config.alpn_protocols.is_empty() {
            let mut config = ServerConfig::clone(&config);
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Arc::new(config)
        } else {
            config
        };
        TlsConfig {
            server_config,
            files: None,
            reload_interval: DEFAULT_RELOAD_INTERVAL,
        }
    }

    /// How often the serving server checks the certificate files for changes (their
    /// modification time and size). Default: 30 s.
    pub fn reload_interval(mut self, interval: Duration) -> Self {
        // A zero interval would make the timer spin; a millisecond is as good as immediate.
        self.reload_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Reloads the certificate and key files now, changed or not: the next TLS handshake
    /// presents the new certificate. On an error the current certificate stays. Works through
    /// any clone of this configuration, e.g. from a `SIGHUP` handler.
    pub fn reload(&self) -> Result<(), TlsError> {
        let files = self.files.as_ref().ok_or(TlsError::NotReloadable)?;
        let stamp = files.stamp();
        let key = files.load()?;
        files.install(key, stamp);
        tracing::info!(cert = %files.cert_path.display(), "TLS certificate reloaded");
        Ok(())
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.server_config.clone())
    }

    /// Starts polling the files (for a configuration made from files); the task ends when the
    /// returned guard is dropped.
    pub(crate) fn watch(&self) -> Option<Watcher> {
        let files = self.files.clone()?;
        let interval = self.reload_interval;
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate: the files were just loaded.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let files = files.clone();
                // File system calls block: off the runtime's worker threads.
                if tokio::task::spawn_blocking(move || files.reload_if_changed())
                    .await
                    .is_err()
                {
                    tracing::warn!("checking the TLS certificate files panicked");
                }
            }
        });
        Some(Watcher(task))
    }
}

/// Stops the polling of the certificate files when dropped.
pub(crate) struct Watcher(tokio::task::JoinHandle<()>);

impl Drop for Watcher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A file's modification time and size: what changes when it is rewritten.
type FileStamp = Option<(SystemTime, u64)>;

/// The certificate and key files, and the certificate currently served from them.
struct CertificateFiles {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The stamps of both files when they were last loaded (or failed to load).
    last_seen: Mutex<Option<[FileStamp; 2]>>,
}

impl CertificateFiles {
    fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn install(&self, key: CertifiedKey, stamp: [FileStamp; 2]) {
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(key);
        self.remember(stamp);
    }

    fn remember(&self, stamp: [FileStamp; 2]) {
        *self
            .last_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(stamp);
    }

    fn stamp(&self) -> [FileStamp; 2] {
        stamp(&self.cert_path, &self.key_path)
    }

    fn load(&self) -> Result<CertifiedKey, TlsError> {
        load(&self.cert_path, &self.key_path, &self.provider)
    }

    /// Loads the files if either changed since they were last seen; a failure keeps the
    /// current certificate, is logged once per change, and is retried at the next change.
    fn reload_if_changed(&self) {
        let stamp = self.stamp();
        let unchanged = *self
            .last_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            == Some(stamp);
        if unchanged {
            return;
        }
        match self.load() {
            Ok(key) => {
                self.install(key, stamp);
                tracing::info!(cert = %self.cert_path.display(), "TLS certificate reloaded");
            }
            Err(error) => {
                self.remember(stamp);
                tracing::warn!(
                    %error,
                    "the TLS certificate files changed but cannot be loaded: still serving the \
                     previous certificate"
                );
            }
        }
    }
}

/// Reads, parses and checks a certificate chain and its key.
fn load(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let pem_error = |path: &Path, error: rustls::pki_types::pem::Error| TlsError::Pem {
        path: path.to_owned(),
        reason: error.to_string(),
    };
    let cert_pem = read(cert_path)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| pem_error(cert_path, error))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert_path.to_owned(),
        });
    }
    let key_pem = read(key_path)?;
    let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(key) => key,
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            return Err(TlsError::NoPrivateKey {
                path: key_path.to_owned(),
            })
        }
        Err(error) => return Err(pem_error(key_path, error)),
    };
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|error| TlsError::UnsupportedKey {
            path: key_path.to_owned(),
            reason: error.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError::KeyMismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
        }),
        Err(error) => Err(TlsError::BadCertificate {
            path: cert_path.to_owned(),
            reason: error.to_string(),
        }),
    }
}

/// Both files' stamps.
fn stamp(cert_path: &Path, key_path: &Path) -> [FileStamp; 2] {
    let stamp = |path: &Path| {
        let metadata = std::fs::metadata(path).ok()?;
        Some((metadata.modified().ok()?, metadata.len()))
    };
    [stamp(cert_path), stamp(key_path)]
}

/// Presents the files' current certificate to every client.
struct Resolver(Arc<CertificateFiles>);

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Resolver").field(&self.0.cert_path).finish()
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current())
    }
}

impl Endpoint {
    /// Serves one accepted TCP connection over TLS: the TLS handshake, then the HTTP upgrade,
    /// together within the handshake timeout. A failed TLS handshake is logged and counted,
    /// and ends only this connection. Dropped when `stop` is cancelled (see
    /// [`Endpoint::serve_connection_until`]).
    pub(crate) fn serve_tls(
        &self,
        acceptor: TlsAcceptor,
        stream: TcpStream,
        remote_addr: SocketAddr,
        stop: tokio_util::sync::CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static {
        let shared = self.shared().clone();
        let shutdown = self.shutdown_token().clone();
        self.track_until(
            async move {
                let slot = ConnectionSlot::take(&shared);
                let deadline = tokio::time::Instant::now() + shared.config.handshake_timeout;
                // Boxed: the handshake's state is large and only needed until it is done.
                let handshake =
                    Box::pin(tokio::time::timeout_at(deadline, acceptor.accept(stream)));
                let stream = match handshake.await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::debug!(%remote_addr, %error, "TLS handshake failed");
                        crate::metrics::tls_handshake_failed("error");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%remote_addr, "TLS handshake timed out");
                        crate::metrics::tls_handshake_failed("timeout");
                        return;
                    }
                };
                let tls = TlsInfo::from_connection(stream.get_ref().1);
                let accepted = Accepted {
                    remote_addr,
                    tls: Some(Box::new(TlsHandshake {
                        info: tls,
                        deadline,
                    })),
                    slot,
                };
                // Boxed: the TLS state lives on the heap, not in every connection's future.
                session::serve_accepted(Box::new(stream), accepted, shared, shutdown).await;
            },
            stop,
        )
    }
}

impl TlsInfo {
    fn from_connection(connection: &rustls::ServerConnection) -> TlsInfo {
        let protocol_version = match connection.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
            Some(other) => format!("{other:?}"),
            None => "unknown".to_owned(),
        };
        TlsInfo {
            server_name: connection.server_name().map(str::to_owned),
            alpn_protocol: connection
                .alpn_protocol()
                .map(|protocol| String::from_utf8_lossy(protocol).into_owned()),
            protocol_version,
        }
    }
}
