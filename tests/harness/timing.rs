//! Deadlines: every await of a test that depends on the server is bounded, so a bug fails the
//! test with what it waited for instead of hanging it.
//!
//! One limit, [`TIMEOUT`], for every step; [`within_for`] for the few waits that are longer by
//! design (a heartbeat timeout, a Redis failover).

use std::future::Future;
use std::time::{Duration, Instant};

/// The longest one step of a test (a connect, a receive, a shutdown) may take before the test
/// fails. Generous: a loaded CI machine must not turn into a failure.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How often [`wait_for`] and [`eventually`] look at the state again.
const POLL: Duration = Duration::from_millis(10);

/// Awaits `future`, failing the test with `what` if it takes longer than [`TIMEOUT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    within_for(TIMEOUT, what, future).await
}

/// Awaits `future`, failing the test with `what` if it takes longer than `limit`.
pub async fn within_for<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// Waits until `condition` holds, looking every 10 ms; fails the test with `what` after
/// [`TIMEOUT`].
pub async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    within(what, async {
        while !condition() {
            tokio::time::sleep(POLL).await;
        }
    })
    .await;
}

/// Polls `check` until it gives `Ok`, failing the test after `limit` with `what` and the last
/// `Err` (which describes the state seen instead).
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + limit;
    loop {
        let last = match tokio::time::timeout(TIMEOUT, check()).await {
            Ok(Ok(value)) => return value,
            Ok(Err(state)) => state,
            Err(_) => format!("one check took longer than {TIMEOUT:?}"),
        };
        if Instant::now() >= deadline {
            panic!("gave up after {limit:?} waiting for {what}; last seen: {last}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Checks that `condition` stays false for `period`: for a bound that must hold (what is
/// blocked stays blocked), once the test has waited for the state it is about. Looks every
/// 10 ms and fails at once with `what` if the condition turns true: a slow machine can make it
/// miss a defect, never fail a correct program.
pub async fn never_within(what: &str, period: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + period;
    while Instant::now() < deadline {
        assert!(!condition(), "{what}");
        tokio::time::sleep(POLL).await;
    }
    assert!(!condition(), "{what}");
}
