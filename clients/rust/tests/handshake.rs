//! The upgrade request: extra headers reach the server's authenticator, and a refused
//! handshake is a typed connect error.

mod common;

use common::within;
use exws::auth::{Admission, HandshakeRejection};
use exws::{handlers, message, Connection, HandshakeRequest, Server};
use exws_client::{Client, ConnectError};
use serde::{Deserialize, Serialize};
use std::future::IntoFuture;

#[derive(Serialize, Deserialize)]
struct WhoAmI {}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct YouAre {
    token: Option<String>,
}

#[message]
async fn who_am_i(_request: WhoAmI, conn: Connection) -> YouAre {
    YouAre {
        token: conn.metadata("token"),
    }
}

async fn start_guarded() -> (String, tokio::sync::oneshot::Sender<()>) {
    let server = Server::with_handlers(handlers![who_am_i]).authenticator(
        |request: HandshakeRequest| async move {
            match request.header("authorization") {
                Some(value) if value.starts_with("tma ") => {
                    Ok(Admission::anonymous().with_metadata("token", &value[4..]))
                }
                Some(_) => Err(HandshakeRejection::forbidden("unknown scheme")),
                None => Err(HandshakeRejection::unauthorized(
                    "send `Authorization: tma <initData>`",
                )),
            }
        },
    );
    let bound = within(server.bind("127.0.0.1:0")).await.unwrap();
    let url = format!("ws://{}", bound.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        bound
            .serve()
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );
    (url, stop)
}

#[tokio::test]
async fn extra_headers_are_sent_with_the_upgrade_request() {
    let (url, _stop) = start_guarded().await;
    let client = within(
        Client::builder(&url)
            .header("Authorization", "tma query_id=1&user=ada")
            .connect(),
    )
    .await
    .unwrap();
    let reply: YouAre = within(client.call(&WhoAmI {})).await.unwrap();
    assert_eq!(reply.token.as_deref(), Some("query_id=1&user=ada"));
}

#[tokio::test]
async fn a_refused_handshake_is_a_rejected_connect_error() {
    let (url, _stop) = start_guarded().await;
    match within(Client::connect(&url)).await {
        Err(ConnectError::Rejected { status, body }) => {
            assert_eq!(status, 401);
            assert!(body.contains("Authorization"), "{body}");
        }
        other => panic!("expected a 401 rejection, got {other:?}"),
    }
    match within(
        Client::builder(&url)
            .header("Authorization", "Bearer x")
            .connect(),
    )
    .await
    {
        Err(error @ ConnectError::Rejected { status: 403, .. }) => {
            assert!(error.to_string().contains("unknown scheme"), "{error}");
        }
        other => panic!("expected a 403 rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_header_names_fail_before_connecting() {
    let (url, _stop) = start_guarded().await;
    let error = within(Client::builder(&url).header("Bad Name", "x").connect())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ConnectError::InvalidHeader { ref name, .. } if name == "Bad Name"),
        "{error:?}"
    );
}
