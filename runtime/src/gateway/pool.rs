//! The connected backends: which one gets an event, the queue kept while none is connected,
//! and the connection requests waiting for a `response`.

use super::metrics;
use super::protocol::Response;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot};

/// One connected backend, as the rest of the gateway sees it: the queue of its single writer.
#[derive(Debug)]
pub(crate) struct BackendHandle {
    pub(crate) id: u64,
    lines: mpsc::Sender<String>,
    /// Clients whose events go to this backend (the least loaded gets new clients).
    clients: AtomicUsize,
}

impl BackendHandle {
    pub(crate) fn new(id: u64, lines: mpsc::Sender<String>) -> Self {
        BackendHandle {
            id,
            lines,
            clients: AtomicUsize::new(0),
        }
    }

    fn is_alive(&self) -> bool {
        !self.lines.is_closed()
    }

    /// Queues a line without waiting; `false` when the queue is full or the backend gone.
    pub(crate) fn offer(&self, line: String) -> bool {
        self.lines.try_send(line).is_ok()
    }
}

/// Which backend one client's events go to: the same one while it stays connected, so that a
/// client's messages are handled in order.
#[derive(Debug, Default)]
pub(crate) struct Assignment(Mutex<Option<Arc<BackendHandle>>>);

impl Assignment {
    fn lock(&self) -> MutexGuard<'_, Option<Arc<BackendHandle>>> {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Lets the backend go (the client closed).
    pub(crate) fn release(&self) {
        if let Some(backend) = self.lock().take() {
            backend.clients.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A `connection_request` sent to a backend, waiting for its `response`; forgotten when
/// dropped, so that a handshake that gives up (timeout, client gone) leaves nothing behind.
#[derive(Debug)]
pub(crate) struct PendingRequest<'a> {
    pool: &'a Pool,
    pub(crate) request_id: String,
    pub(crate) answered: oneshot::Receiver<Response>,
}

impl Drop for PendingRequest<'_> {
    fn drop(&mut self) {
        self.pool.forget(&self.request_id);
    }
}

/// Every backend of this gateway.
#[derive(Debug)]
pub(crate) struct Pool {
    state: Mutex<PoolState>,
    requests: Mutex<HashMap<String, oneshot::Sender<Response>>>,
    next_request: AtomicU64,
    next_backend: AtomicU64,
    queue_size: usize,
    /// Events dropped by the queue's policy, since the start.
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct PoolState {
    backends: Vec<Arc<BackendHandle>>,
    /// Events kept while no backend is connected, oldest first.
    queued: VecDeque<String>,
    /// Round-robin position for connection requests.
    turn: usize,
}

impl Pool {
    pub(crate) fn new(queue_size: usize) -> Self {
        Pool {
            state: Mutex::new(PoolState::default()),
            requests: Mutex::new(HashMap::new()),
            next_request: AtomicU64::new(1),
            next_backend: AtomicU64::new(1),
            queue_size,
            dropped: AtomicU64::new(0),
        }
    }

    fn state(&self) -> MutexGuard<'_, PoolState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn requests(&self) -> MutexGuard<'_, HashMap<String, oneshot::Sender<Response>>> {
        self.requests
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn next_backend_id(&self) -> u64 {
        self.next_backend.fetch_add(1, Ordering::Relaxed)
    }

    /// A backend connected: it gets the queued events first, in order (returned here for its
    /// writer), then new ones.
    pub(crate) fn add(&self, backend: Arc<BackendHandle>) -> Vec<String> {
        let mut state = self.state();
        state.backends.retain(|backend| backend.is_alive());
        state.backends.push(backend);
        state.queued.drain(..).collect()
    }

    /// A backend went away.
    pub(crate) fn remove(&self, id: u64) {
        self.state()
            .backends
            .retain(|backend| backend.id != id && backend.is_alive());
    }

    /// How many backends are connected.
    pub(crate) fn backend_count(&self) -> usize {
        self.state()
            .backends
            .iter()
            .filter(|backend| backend.is_alive())
            .count()
    }

    /// Events waiting for a backend now.
    pub(crate) fn queued_count(&self) -> usize {
        self.state().queued.len()
    }

    /// Events the queue dropped by policy (full, or disabled), since the start.
    pub(crate) fn dropped_count(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events in the connected backends' write queues, not yet taken by their writers.
    pub(crate) fn backlog(&self) -> usize {
        self.state()
            .backends
            .iter()
            .filter(|backend| backend.is_alive())
            .map(|backend| backend.lines.max_capacity() - backend.lines.capacity())
            .sum()
    }

    /// Keeps an event for the next backend (the state's lock held).
    fn queue(&self, state: &mut PoolState, line: String) {
        if self.queue_size == 0 {
            metrics::event_dropped("queue_disabled");
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if state.queued.len() >= self.queue_size {
            state.queued.pop_front();
            metrics::event_dropped("queue_full");
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        state.queued.push_back(line);
    }

    /// The client's backend, or a new one for it (the least loaded); `None` (the line queued)
    /// when no backend is connected.
    fn backend_for(
        &self,
        assignment: &Assignment,
        line: String,
    ) -> Result<(Arc<BackendHandle>, String), ()> {
        let mut slot = assignment.lock();
        if let Some(backend) = slot.as_ref().filter(|backend| backend.is_alive()) {
            return Ok((Arc::clone(backend), line));
        }
        if let Some(gone) = slot.take() {
            gone.clients.fetch_sub(1, Ordering::Relaxed);
        }
        let mut state = self.state();
        let chosen = state
            .backends
            .iter()
            .filter(|backend| backend.is_alive())
            .min_by_key(|backend| backend.clients.load(Ordering::Relaxed))
            .cloned();
        match chosen {
            Some(backend) => {
                backend.clients.fetch_add(1, Ordering::Relaxed);
                *slot = Some(Arc::clone(&backend));
                Ok((backend, line))
            }
            None => {
                self.queue(&mut state, line);
                Err(())
            }
        }
    }

    /// Sends one event of a client to its backend, waiting while that backend's queue is full
    /// (backpressure on the client's reading). A backend that dies meanwhile hands the client
    /// to another one; with none left the event is queued.
    pub(crate) async fn send_for(&self, assignment: &Assignment, line: String) {
        let mut line = line;
        loop {
            let Ok((backend, unsent)) = self.backend_for(assignment, line) else {
                return;
            };
            match backend.lines.send(unsent).await {
                Ok(()) => return,
                Err(mpsc::error::SendError(back)) => line = back,
            }
        }
    }

    /// Sends an event of no client to any backend with room, else queues it.
    pub(crate) fn send_any(&self, line: String) {
        let mut state = self.state();
        let mut line = line;
        for backend in state.backends.clone() {
            match backend.lines.try_send(line) {
                Ok(()) => return,
                Err(
                    mpsc::error::TrySendError::Full(back) | mpsc::error::TrySendError::Closed(back),
                ) => {
                    line = back;
                }
            }
        }
        self.queue(&mut state, line);
    }

    /// Sends a `connection_request` (made by `line` from its request id) to the next backend
    /// with room in its queue, waiting for room when every connected backend's queue is full
    /// (the caller bounds the wait). `None` when no backend is connected.
    pub(crate) async fn request(
        &self,
        line: impl FnOnce(&str) -> String,
    ) -> Option<PendingRequest<'_>> {
        let request_id = format!("req-{}", self.next_request.fetch_add(1, Ordering::Relaxed));
        let (answer, answered) = oneshot::channel();
        self.requests().insert(request_id.clone(), answer);
        // From here on, dropping `pending` (an early return, or the caller giving up while this
        // waits) forgets the request.
        let pending = PendingRequest {
            pool: self,
            request_id,
            answered,
        };
        let mut line = line(&pending.request_id);
        loop {
            let full = {
                let mut state = self.state();
                let count = state.backends.len();
                for step in 0..count {
                    let index = (state.turn + step) % count;
                    match state.backends[index].lines.try_send(line) {
                        Ok(()) => {
                            state.turn = index + 1;
                            return Some(pending);
                        }
                        Err(
                            mpsc::error::TrySendError::Full(back)
                            | mpsc::error::TrySendError::Closed(back),
                        ) => line = back,
                    }
                }
                let alive: Vec<Arc<BackendHandle>> = state
                    .backends
                    .iter()
                    .filter(|backend| backend.is_alive())
                    .cloned()
                    .collect();
                alive
            };
            if full.is_empty() {
                return None;
            }
            // Every backend is busy: wait until one of them has room (or goes away), then try
            // again from the top.
            let waits = full.iter().map(|backend| Box::pin(backend.lines.reserve()));
            let (reserved, _, _) = futures_util::future::select_all(waits).await;
            if let Ok(permit) = reserved {
                permit.send(line);
                return Some(pending);
            }
        }
    }

    /// A backend answered request `request_id`; `false` if no handshake waits for it.
    pub(crate) fn resolve(&self, request_id: &str, response: Response) -> bool {
        match self.requests().remove(request_id) {
            Some(answer) => answer.send(response).is_ok(),
            None => false,
        }
    }

    /// The handshake stopped waiting for `request_id`.
    pub(crate) fn forget(&self, request_id: &str) {
        self.requests().remove(request_id);
    }
}
