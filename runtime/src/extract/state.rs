//! Application state given to the server once.

use super::{FromContext, Rejection};
use crate::context::Context;
use std::ops::{Deref, DerefMut};

/// Application state given to the server with [`Server::with_state`](crate::Server::with_state),
/// cloned into each handler that takes it.
///
/// Wrap shared mutable state in an `Arc` (a database pool usually already is one).
///
/// ```
/// use exws::{message, State};
/// use std::sync::{atomic::{AtomicU64, Ordering}, Arc};
/// # #[derive(serde::Deserialize)] struct Hit {}
/// # #[derive(serde::Serialize)] struct Hits { total: u64 }
///
/// #[derive(Clone, Default)]
/// struct Counter(Arc<AtomicU64>);
///
/// #[message]
/// async fn hit(_request: Hit, State(counter): State<Counter>) -> Hits {
///     Hits { total: counter.0.fetch_add(1, Ordering::Relaxed) + 1 }
/// }
///
/// let server = exws::Server::with_handlers(exws::handlers![hit]).with_state(Counter::default());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromContext for State<T> {
    async fn from_context(context: &Context) -> Result<Self, Rejection> {
        context.state::<T>().map(State).ok_or_else(|| {
            Rejection::handler_error(format!(
                "the server has no state of type `{}`: give it with `Server::with_state`",
                std::any::type_name::<T>()
            ))
        })
    }

    fn requirements(requirements: &mut super::Requirements) {
        requirements.state::<T>();
    }
}

impl<T> Deref for State<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for State<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
