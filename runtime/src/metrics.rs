//! Metrics through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! exws records these (install a recorder, e.g. [`install_prometheus`] with the `prometheus`
//! feature, **before** [`Server::bind`](crate::Server::bind): handler histograms are created at
//! bind):
//!
//! | name | kind | labels | meaning |
//! |---|---|---|---|
//! | `exws_connections_open` | gauge | | open WebSocket connections |
//! | `exws_connections_total` | counter | | connections opened |
//! | `exws_handshakes_rejected_total` | counter | `status` | upgrades refused (401, 403, 503, ...) |
//! | `exws_tls_handshakes_failed_total` | counter | `reason` | TLS handshakes that failed (`error`) or timed out (`timeout`), feature `tls` |
//! | `exws_messages_in_total` | counter | | text frames received |
//! | `exws_messages_out_total` | counter | | messages written to sockets |
//! | `exws_errors_total` | counter | `code` | `Error` envelopes sent, by code |
//! | `exws_queue_drops_total` | counter | | hub messages refused by a full outbound queue |
//! | `exws_adapter_publish_failures_total` | counter | | hub messages the adapter could not pass to other processes (Redis down) |
//! | `exws_disconnects_total` | counter | `reason` | connections closed, by reason |
//! | `exws_handler_duration_seconds` | histogram | `type` | handler run time, by message `Type` (see below) |
//! | `exws_streams_open` | gauge | | open streams (subscriptions) |
//! | `exws_stream_items_total` | counter | | stream items queued for clients |
//! | `exws_streams_ended_total` | counter | `reason` | streams ended: `end`, `error`, `cancel`, `closed` |
//!
//! Without a recorder every call is a no-op. Handler durations cost two clock reads per call,
//! so they are recorded only when turned on: by [`install_prometheus`], or by
//! [`record_handler_durations`] for another recorder (before `bind`).

use crate::protocol::ErrorCode;

pub(crate) fn connection_opened() {
    metrics::counter!("exws_connections_total").increment(1);
    metrics::gauge!("exws_connections_open").increment(1.0);
}

pub(crate) fn connection_closed(reason: &'static str) {
    metrics::gauge!("exws_connections_open").decrement(1.0);
    metrics::counter!("exws_disconnects_total", "reason" => reason).increment(1);
}

pub(crate) fn handshake_rejected(status: u16) {
    metrics::counter!("exws_handshakes_rejected_total", "status" => status.to_string())
        .increment(1);
}

#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) fn tls_handshake_failed(reason: &'static str) {
    metrics::counter!("exws_tls_handshakes_failed_total", "reason" => reason).increment(1);
}

pub(crate) fn messages_in(count: u64) {
    metrics::counter!("exws_messages_in_total").increment(count);
}

pub(crate) fn messages_out(count: u64) {
    metrics::counter!("exws_messages_out_total").increment(count);
}

pub(crate) fn error_sent(code: &ErrorCode) {
    // A code of the application's own is counted as `other`: labels stay few.
    let label = code.known_str().unwrap_or("other");
    metrics::counter!("exws_errors_total", "code" => label).increment(1);
}

/// Messages the adapter could not hand to its backend (e.g. Redis), which other processes missed.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn adapter_publish_failed(messages: u64) {
    metrics::counter!("exws_adapter_publish_failures_total").increment(messages);
}

pub(crate) fn stream_opened() {
    metrics::gauge!("exws_streams_open").increment(1.0);
}

pub(crate) fn stream_items(count: u64) {
    metrics::counter!("exws_stream_items_total").increment(count);
}

pub(crate) fn stream_ended(reason: &'static str) {
    metrics::gauge!("exws_streams_open").decrement(1.0);
    metrics::counter!("exws_streams_ended_total", "reason" => reason).increment(1);
}

pub(crate) fn queue_drop() {
    metrics::counter!("exws_queue_drops_total").increment(1);
}

static HANDLER_DURATIONS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records `exws_handler_duration_seconds` for servers bound from now on (on) or not (off,
/// the default unless [`install_prometheus`] was called).
pub fn record_handler_durations(on: bool) {
    HANDLER_DURATIONS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// The run-time histogram of one message `Type`'s handlers, if durations are recorded.
pub(crate) fn handler_histogram(message_type: &'static str) -> Option<metrics::Histogram> {
    HANDLER_DURATIONS
        .load(std::sync::atomic::Ordering::Relaxed)
        .then(|| metrics::histogram!("exws_handler_duration_seconds", "type" => message_type))
}

/// Serves Prometheus's text format at `http://{addr}/metrics` and makes it the process's
/// metrics recorder (feature `prometheus`). Call it once, before binding servers, from within
/// a Tokio runtime.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// exws::metrics::install_prometheus("127.0.0.1:9000".parse()?)?;
/// exws::Server::new().listen("127.0.0.1:8765").await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "prometheus")]
pub fn install_prometheus(addr: std::net::SocketAddr) -> Result<(), PrometheusError> {
    let mut installed = PROMETHEUS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (recorder, exporter) = metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .build()
        .map_err(|error| PrometheusError(error.to_string()))?;
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|error| PrometheusError(error.to_string()))?;
    tokio::spawn(async move {
        if let Err(error) = exporter.await {
            tracing::error!(?error, "the Prometheus endpoint stopped");
        }
    });
    *installed = Some(handle);
    record_handler_durations(true);
    Ok(())
}

/// The Prometheus recorder exws installed, by [`install_prometheus`] or by a previous call.
#[cfg(feature = "prometheus")]
static PROMETHEUS: std::sync::Mutex<Option<metrics_exporter_prometheus::PrometheusHandle>> =
    std::sync::Mutex::new(None);

/// The handle of exws's Prometheus recorder, installing it (without a listener of its own)
/// when none is: for `GET /metrics` on the server's port. Fails when another recorder is
/// installed. Must run within a Tokio runtime (the recorder's upkeep is a task).
#[cfg(feature = "prometheus")]
pub(crate) fn prometheus_handle(
) -> Result<metrics_exporter_prometheus::PrometheusHandle, PrometheusError> {
    let mut installed = PROMETHEUS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(handle) = &*installed {
        return Ok(handle.clone());
    }
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|error| PrometheusError(error.to_string()))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    *installed = Some(handle.clone());
    record_handler_durations(true);
    Ok(handle)
}

/// Why the Prometheus endpoint could not start.
#[cfg(feature = "prometheus")]
#[derive(Debug, thiserror::Error)]
#[error("cannot start the Prometheus endpoint: {0} (is a recorder already installed, or the address taken?)")]
pub struct PrometheusError(String);
