//! The gateway's metrics, through the [`metrics`](https://docs.rs/metrics) facade (listed in
//! docs/GATEWAY.md beside exws's own).

pub(crate) fn backend_connected() {
    metrics::gauge!("exws_gateway_backends_connected").increment(1.0);
}

pub(crate) fn backend_disconnected(reason: &'static str) {
    metrics::gauge!("exws_gateway_backends_connected").decrement(1.0);
    metrics::counter!("exws_gateway_backend_disconnects_total", "reason" => reason).increment(1);
}

/// A connection request's outcome: `accepted`, `refused`, `timeout`, `no_backend`, `busy`,
/// `duplicate`, `invalid`.
pub(crate) fn connection_request(outcome: &'static str) {
    metrics::counter!("exws_gateway_connection_requests_total", "outcome" => outcome).increment(1);
}

/// A backend line the gateway could not act on, by kind.
pub(crate) fn bad_backend_line(kind: &'static str) {
    metrics::counter!("exws_gateway_bad_backend_lines_total", "kind" => kind).increment(1);
}

/// An event dropped by policy: the no-backend queue was full (its oldest event) or disabled.
pub(crate) fn event_dropped(reason: &'static str) {
    metrics::counter!("exws_gateway_events_dropped_total", "reason" => reason).increment(1);
}

/// Events written to backends.
pub(crate) fn events_sent(count: u64) {
    metrics::counter!("exws_gateway_events_sent_total").increment(count);
}
