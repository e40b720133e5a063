//! Which handlers a server serves: explicit `handlers![...]` lists (two servers in one process
//! with different sets, duplicates refused) and `Server::new()`, which serves every
//! `#[message]` of the program.

mod harness;

use exws::handler::RegistryError;
use exws::{handlers, message, Server};
use harness::TestServer;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize)]
struct Alpha;

#[derive(Serialize)]
struct AlphaSeen;

#[derive(Deserialize)]
struct Beta;

#[derive(Serialize)]
struct BetaSeen;

#[message]
async fn alpha(_request: Alpha) -> AlphaSeen {
    AlphaSeen
}

#[message]
async fn beta(_request: Beta) -> BetaSeen {
    BetaSeen
}

mod nested {
    use exws::message;
    use serde::{Deserialize, Serialize};

    #[derive(Deserialize)]
    pub(crate) struct Gamma;

    #[derive(Serialize)]
    pub(crate) struct GammaSeen;

    #[message]
    pub(crate) async fn gamma(_request: Gamma) -> GammaSeen {
        GammaSeen
    }

    pub(crate) mod deeper {
        use exws::message;

        /// Observes the same `Type` as `gamma`, from another module.
        #[message(type = "Gamma", reply = "GammaAlsoSeen")]
        pub(crate) async fn gamma(_request: super::Gamma) -> u8 {
            1
        }
    }
}

/// Asserts that `client` is answered for `served` and gets `unknown_type` for `not_served`.
async fn assert_serves(server: &TestServer, served: &[(&str, &str)], not_served: &[&str]) {
    let mut client = server.connect().await;
    for (message_type, reply_type) in served {
        let reply = client.call(message_type, json!(null)).await;
        assert_eq!(
            reply,
            json!({ "Type": reply_type, "Data": null }),
            "{message_type} is served"
        );
    }
    for message_type in not_served {
        let error = client.call(message_type, json!(null)).await;
        harness::assert_error(&error, "unknown_type");
        assert_eq!(error["Data"]["type"], *message_type);
    }
}

#[tokio::test]
async fn two_servers_in_one_process_serve_their_own_lists() {
    let first = TestServer::start(Server::with_handlers(handlers![alpha])).await;
    let second = TestServer::start(Server::with_handlers(handlers![beta, nested::gamma])).await;
    assert_serves(
        &first,
        &[("Alpha", "AlphaSeen")],
        &["Beta", "Gamma", "CalculateRequest"],
    )
    .await;
    assert_serves(
        &second,
        &[("Beta", "BetaSeen"), ("Gamma", "GammaSeen")],
        &["Alpha", "CalculateRequest"],
    )
    .await;
}

#[tokio::test]
async fn handlers_are_listed_by_path() {
    let server = TestServer::start(Server::with_handlers(handlers![
        self::alpha,
        crate::beta,
        harness::calculate,
        nested::deeper::gamma,
    ]))
    .await;
    let mut client = server.connect().await;
    client.assert_alive().await;
    let reply = client.call("Gamma", json!(null)).await;
    assert_eq!(reply, json!({ "Type": "GammaAlsoSeen", "Data": 1 }));
    assert_serves(
        &server,
        &[("Alpha", "AlphaSeen"), ("Beta", "BetaSeen")],
        &[],
    )
    .await;
}

#[tokio::test]
async fn an_empty_list_serves_nothing() {
    let server = TestServer::start(Server::with_handlers(handlers![])).await;
    assert_serves(&server, &[], &["Alpha", "CalculateRequest"]).await;
}

#[tokio::test]
async fn server_new_serves_every_handler_of_the_program() {
    // `model::search` takes `State<u32>`: every handler of the program needs its state.
    for server in [Server::new(), Server::default()] {
        let server = TestServer::start(server.with_state(10u32)).await;
        assert_serves(
            &server,
            &[("Alpha", "AlphaSeen"), ("Beta", "BetaSeen")],
            &["Delta"],
        )
        .await;
        let mut client = server.connect().await;
        // Handlers from another module of this test, and from `tests/common`.
        client.assert_alive().await;
        client.send_json(&json!({ "Type": "Gamma", "Id": 1 })).await;
        let replies = client.recv_sorted_by_type(2).await;
        assert_eq!(
            replies,
            vec![
                json!({ "Type": "GammaAlsoSeen", "Data": 1, "Id": 1 }),
                json!({ "Type": "GammaSeen", "Data": null, "Id": 1 }),
            ]
        );
    }
}

async fn bind_error(server: Server) -> exws::Error {
    harness::within("bind", server.bind("127.0.0.1:0"))
        .await
        .expect_err("bind refuses the server")
}

#[tokio::test]
async fn a_handler_listed_twice_is_refused_with_advice() {
    let error = bind_error(Server::with_handlers(handlers![alpha, beta, alpha])).await;
    assert!(
        matches!(
            &error,
            exws::Error::Registry(RegistryError::DuplicateHandler { function, .. })
                if function.ends_with("::alpha")
        ),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("alpha"), "names the handler: {text}");
    assert!(text.contains("registry.rs:"), "says where it is: {text}");
    assert!(text.contains("twice"), "says what is wrong: {text}");
    assert!(
        text.contains("list each handler once"),
        "says what to do: {text}"
    );
}

#[tokio::test]
async fn the_same_handler_by_two_paths_is_a_duplicate() {
    let error = bind_error(Server::with_handlers(handlers![alpha, self::alpha])).await;
    assert!(
        matches!(
            error,
            exws::Error::Registry(RegistryError::DuplicateHandler { .. })
        ),
        "{error:?}"
    );
}

#[test]
fn handlers_describe_themselves() {
    let list = handlers![alpha, nested::deeper::gamma];
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].message_type(), "Alpha");
    assert_eq!(list[0].function(), "alpha");
    assert!(
        list[0].module_path().ends_with("registry"),
        "{}",
        list[0].module_path()
    );
    assert!(
        list[0].location().contains("registry.rs:"),
        "{}",
        list[0].location()
    );
    assert_eq!(list[1].message_type(), "Gamma");
    assert!(
        list[1].module_path().ends_with("nested::deeper"),
        "{}",
        list[1].module_path()
    );
}

mod model {
    use exws::{message, Connection, State};
    use serde::{Deserialize, Serialize};

    #[derive(Deserialize)]
    pub(crate) struct Search {}

    #[derive(Serialize)]
    pub(crate) struct Hits {}

    #[derive(Debug)]
    pub(crate) struct SearchError;

    impl std::fmt::Display for SearchError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("search failed")
        }
    }

    pub(crate) type SearchResult<T> = Result<T, SearchError>;

    /// Searches the index.
    ///
    /// Answers nothing when the query is empty.
    #[message(type = "search")]
    pub(crate) async fn search(
        _request: Search,
        _connection: Connection,
        State(_limit): State<u32>,
    ) -> SearchResult<Option<Hits>> {
        Ok(None)
    }

    #[message(type = "search.strict")]
    pub(crate) async fn strict(_request: Search) -> Result<Hits, SearchError> {
        Ok(Hits {})
    }
}

#[tokio::test]
async fn the_handler_model_describes_each_handler_before_and_after_bind() {
    let server =
        Server::with_handlers(handlers![model::strict, alpha, model::search]).with_state(10u32);
    let before: Vec<&str> = server.handlers().iter().map(|h| h.message_type()).collect();
    assert_eq!(
        before,
        ["Alpha", "search", "search.strict"],
        "sorted by `Type`"
    );

    let bound = harness::within("bind", server.bind("127.0.0.1:0"))
        .await
        .expect("binds");
    let handlers = bound.handlers();
    let after: Vec<&str> = handlers.iter().map(|h| h.message_type()).collect();
    assert_eq!(after, before);

    let alpha = handlers[0];
    assert_eq!(alpha.request_type(), "Alpha");
    assert_eq!(
        alpha.reply_kind(),
        exws::ReplyKind::Single {
            reply_type: "AlphaSeen"
        }
    );
    assert!(!alpha.is_fallible());
    assert!(alpha.extractors().is_empty());
    assert_eq!(alpha.doc(), "");

    let search = handlers[1];
    assert_eq!(search.function(), "search");
    assert!(search.module_path().ends_with("registry::model"));
    assert_eq!(search.request_type(), "Search");
    assert_eq!(search.extractors(), ["Connection", "State<u32>"]);
    assert_eq!(
        search.reply_kind(),
        exws::ReplyKind::Optional { reply_type: "Hits" }
    );
    assert!(search.is_fallible());
    assert_eq!(search.error_type(), None, "the alias does not show it");
    assert_eq!(
        search.doc(),
        "Searches the index.\n\nAnswers nothing when the query is empty."
    );
    assert!(search.location().contains("registry.rs:"));

    let strict = handlers[2];
    assert_eq!(strict.error_type(), Some("SearchError"));
    assert_eq!(strict.reply_type(), Some("Hits"));
}
