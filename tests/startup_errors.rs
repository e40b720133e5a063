//! What `Server::bind` refuses besides duplicate handlers (see `registry.rs`), and that its
//! errors say what to do. Kept apart from `registry.rs`: the unusable handlers here would
//! break `Server::new()` there.

mod harness;

use exws::{handlers, message, Server};
use serde_json::Value;

#[message(type = "ok")]
async fn fine(_request: Value) {}

async fn bind_error(server: Server) -> exws::Error {
    harness::within("bind", server.bind("127.0.0.1:0"))
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
        harness::TestServer::start(Server::with_handlers(handlers![fine, harness::calculate]))
            .await;
    let error = harness::within(
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

#[derive(Clone)]
struct Pricing {
    #[allow(dead_code)]
    rate: u32,
}

#[derive(serde::Deserialize)]
struct Quote {}

#[exws::message]
async fn quote(_request: Quote, exws::State(_pricing): exws::State<Pricing>) {}

#[exws::message]
async fn maybe_quote(_request: Quote, _pricing: Option<exws::State<Pricing>>) {}

#[tokio::test]
async fn a_handler_taking_a_state_the_server_lacks_is_a_bind_error_naming_both() {
    let error = exws::Server::with_handlers(exws::handlers![quote])
        .bind("127.0.0.1:0")
        .await
        .expect_err("refused at bind");
    match &error {
        exws::Error::MissingState { handler, state } => {
            assert!(handler.ends_with("::quote"), "{handler}");
            assert!(state.ends_with("Pricing"), "{state}");
        }
        other => panic!("expected MissingState, got {other:#?}"),
    }
    let text = error.to_string();
    assert!(
        text.contains("quote") && text.contains("Pricing") && text.contains("with_state"),
        "{text}"
    );

    // With the state, or when the state is optional, the server binds.
    assert!(exws::Server::with_handlers(exws::handlers![quote])
        .with_state(Pricing { rate: 3 })
        .bind("127.0.0.1:0")
        .await
        .is_ok());
    assert!(exws::Server::with_handlers(exws::handlers![maybe_quote])
        .bind("127.0.0.1:0")
        .await
        .is_ok());
}
