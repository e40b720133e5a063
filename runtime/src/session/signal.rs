//! A waker that records that it fired, so that the session polls its cancellation futures
//! (server shutdown, connection closed) only when one of them woke it: polling them costs two
//! locks each (the token's and its `Notify`'s), and most wake-ups are for a frame or a queued
//! message (BENCHMARKS.md, fan-out, 2026-12-05).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

/// Passes its wake-ups on to the session's task, and remembers that it fired.
pub(super) struct Signal {
    fired: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Signal {
    /// A signal that has fired: the first poll registers the futures.
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Signal {
            fired: AtomicBool::new(true),
            task: Mutex::new(None),
        })
    }

    /// Whether it fired since the last call; clears it (before the futures are polled, so that
    /// a wake-up while they are polled is kept).
    pub(super) fn take(&self) -> bool {
        self.fired.swap(false, Ordering::AcqRel)
    }

    /// The task to wake from now on.
    pub(super) fn forward_to(&self, task: Waker) {
        *self
            .task
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(task);
    }
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::Release);
        // Woken outside the lock: a waker may run anything.
        let task = self
            .task
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone();
        if let Some(task) = task {
            task.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Signal;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn fires_once_per_wake_and_passes_it_on() {
        let signal = Signal::new();
        assert!(
            signal.take(),
            "a new signal has fired: the first poll registers"
        );
        assert!(!signal.take());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        signal.forward_to(Waker::from(count.clone()));
        let waker = Waker::from(signal.clone());
        waker.wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(signal.take());
        assert!(!signal.take());
        waker.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(signal.take());
    }
}
