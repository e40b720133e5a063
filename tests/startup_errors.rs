//! What `Server::bind` refuses besides duplicate handlers (see `registry.rs`), and that its
//! errors say what to do. Kept apart from `registry.rs`: the unusable handlers here would
//! break `Server::new()` there.

mod common;

use exws::{handlers, message, Server};
use serde_json::Value;

#[message(type = "ok")]
async fn fine(_request: Value) {}

async fn bind_error(server: Server) -> exws::Error {
    common::within("bind", server.bind("127.0.0.1:0"))
        .await
        .expect_err("bind refuses the server")
}

// A `Type` with whitespace or control characters is refused at compile time by `#[message]`
// (tests/ui/type_with_whitespace.rs).

#[tokio::test]
async fn out_of_range_options_are_refused_with_the_option_name() {
    let cases = [
        (
            "max_message_size",
            Server::with_handlers(handlers![fine]).max_message_size(10),
        ),
        (
            "concurrent",
            Server::with_handlers(handlers![fine]).concurrent(0),
        ),
        (
            "outbound_queue",
            Server::with_handlers(handlers![fine]).outbound_queue(0),
        ),
        (
            "max_handshake_size",
            Server::with_handlers(handlers![fine]).max_handshake_size(10),
        ),
        (
            "read_buffer_size",
            Server::with_handlers(handlers![fine]).read_buffer_size(10),
        ),
    ];
    for (option, server) in cases {
        let error = bind_error(server).await;
        assert!(
            matches!(&error, exws::Error::InvalidOption { option: named, .. } if *named == option),
            "{option}: {error:?}"
        );
        assert!(error.to_string().contains(option), "{error}");
    }
}

#[tokio::test]
async fn an_address_in_use_is_a_bind_error() {
    let taken =
        common::TestServer::start(Server::with_handlers(handlers![fine, common::calculate])).await;
    let error = common::within(
        "bind",
        Server::with_handlers(handlers![fine]).bind(taken.addr()),
    )
    .await
    .expect_err("the address is taken");
    assert!(
        matches!(&error, exws::Error::Bind { addrs, .. } if addrs == &[taken.addr()]),
        "{error:#?}"
    );
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot listen on {}: the address is already in use",
            taken.addr()
        )),
        "{text}"
    );
    // The server that holds the address is unaffected.
    taken.connect().await.assert_alive().await;
}
