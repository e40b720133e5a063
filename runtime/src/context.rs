//! What extractors build handler arguments from.

use crate::connection::Connection;
use crate::hub::Hub;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

/// The context of a message: the connection it came on and the server's application state.
/// Cheap to clone (one reference count).
#[derive(Clone, Debug)]
pub struct Context {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    connection: Connection,
    app: Arc<AppState>,
    hub: Hub,
}

/// Application state given to the server, by type.
#[derive(Default)]
pub(crate) struct AppState {
    states: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl AppState {
    pub(crate) fn insert<T: Clone + Send + Sync + 'static>(&mut self, state: T) {
        self.states.insert(TypeId::of::<T>(), Box::new(state));
    }

    pub(crate) fn contains(&self, type_id: TypeId) -> bool {
        self.states.contains_key(&type_id)
    }

    pub(crate) fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.states
            .get(&TypeId::of::<T>())?
            .downcast_ref::<T>()
            .cloned()
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("states", &self.states.len())
            .finish()
    }
}

impl Context {
    pub(crate) fn new(connection: Connection, app: Arc<AppState>, hub: Hub) -> Self {
        Context {
            inner: Arc::new(Inner {
                connection,
                app,
                hub,
            }),
        }
    }

    /// The server's hub: rooms, broadcasts and direct messages.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The connection the message came on.
    pub fn connection(&self) -> &Connection {
        &self.inner.connection
    }

    /// The application state of type `T` given with
    /// [`Server::with_state`](crate::Server::with_state), cloned.
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.inner.app.get::<T>()
    }
}
