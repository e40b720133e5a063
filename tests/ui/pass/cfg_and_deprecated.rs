//! `#[cfg]` applies to the whole handler, before or after `#[message]`; a `#[deprecated]`
//! handler raises no warning of its own, only where it is listed (and that one can be
//! allowed).
#![deny(deprecated)]

#[derive(serde::Deserialize)]
struct Ping {}

#[cfg(any())]
#[exws::message]
async fn absent_before(_request: Ping) {}

#[exws::message(type = "absent.after")]
#[cfg(any())]
async fn absent_after(_request: Ping) {}

#[exws::message(type = "present")]
#[cfg(all())]
async fn present(_request: Ping) {}

/// Replaced by `present`.
#[exws::message(type = "old")]
#[deprecated(note = "use `present`")]
async fn old(_request: Ping) {}

fn main() {
    #[allow(deprecated)]
    let list = exws::handlers![present, old];
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].info().doc(), "Replaced by `present`.");
    let registered = exws::Server::new().handlers();
    assert!(registered.iter().all(|info| !info.message_type().starts_with("absent")));
    assert_eq!(registered.len(), 2);
}
