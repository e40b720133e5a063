//! `exws call` and `exws send` against an in-process server.

mod common;

use common::*;

#[tokio::test]
async fn call_prints_exactly_the_reply_data() {
    let server = start(false).await;
    let output = run([
        "call",
        &server.url,
        "CalculateRequest",
        r#"{"numbers": [2, 2]}"#,
    ])
    .await;
    assert_eq!(
        stdout(&output),
        "{\"result\":4}\n",
        "stderr: {}",
        stderr(&output)
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stderr(&output), "");
    server.stop().await;
}

#[tokio::test]
async fn data_defaults_to_null_and_ids_may_be_given() {
    let server = start(false).await;
    let output = run(["call", &server.url, "Ping", "--id", "req-1"]).await;
    assert_eq!(
        stdout(&output),
        "{\"pong\":true}\n",
        "stderr: {}",
        stderr(&output)
    );
    assert_eq!(output.status.code(), Some(0));
    server.stop().await;
}

#[tokio::test]
async fn server_errors_go_to_stderr_with_exit_code_1() {
    let server = start(false).await;
    let output = run(["call", &server.url, "Nope", "{}"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let error = stderr(&output);
    assert!(error.starts_with("error: unknown_type: "), "{error}");
    assert!(error.contains("Nope"), "{error}");

    let output = run(["call", &server.url, "calc.fail", "{}"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "error: handler_error: boom\n");
    server.stop().await;
}

#[tokio::test]
async fn no_reply_is_a_timeout_with_exit_code_4() {
    let server = start(false).await;
    let started = std::time::Instant::now();
    let output = run(["--timeout", "0.3", "call", &server.url, "Silent", "{}"]).await;
    assert_eq!(output.status.code(), Some(4), "stderr: {}", stderr(&output));
    assert!(
        stderr(&output).contains("no reply within 0.3 s"),
        "{}",
        stderr(&output)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    server.stop().await;
}

#[tokio::test]
async fn invalid_data_json_is_a_usage_error() {
    let output = run(["call", "ws://127.0.0.1:9", "CalculateRequest", "{numbers"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not valid JSON"),
        "{}",
        stderr(&output)
    );
    let output = run(["call", "ws://127.0.0.1:9"]).await;
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test]
async fn connection_failures_exit_with_code_3() {
    let addr = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let output = run(["call", &format!("ws://{addr}"), "Ping"]).await;
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).starts_with("error: cannot connect to"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn headers_reach_the_server_and_refusals_exit_with_code_3() {
    let server = start(true).await;
    let output = run([
        "--header",
        "Authorization: tma abc",
        "call",
        &server.url,
        "WhoAmI",
        "{}",
    ])
    .await;
    assert_eq!(
        stdout(&output),
        "{\"token\":\"abc\"}\n",
        "stderr: {}",
        stderr(&output)
    );
    let output = run(["call", &server.url, "WhoAmI", "{}"]).await;
    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).contains("401"), "{}", stderr(&output));
    server.stop().await;
}

#[tokio::test]
async fn send_delivers_the_message_and_exits_0() {
    let mut server = start(false).await;
    let output = run(["send", &server.url, "Note", r#"{"text": "hello"}"#]).await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(within(server.notes.recv()).await.as_deref(), Some("hello"));
    server.stop().await;
}

#[tokio::test]
async fn help_documents_the_exit_codes() {
    let output = run(["--help"]).await;
    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    for line in ["Exit codes:", "3  connection failure", "4  timeout"] {
        assert!(help.contains(line), "{help}");
    }
}
