//! `exws listen` prints every incoming envelope as one JSON line.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

#[tokio::test]
async fn listen_prints_json_lines_until_the_server_closes() {
    let server = start(false).await;
    let mut child = exws([
        "listen",
        server.url.as_str(),
        "--send",
        "StartTicks",
        r#"{"count": 3}"#,
        "--send",
        "CalculateRequest",
        r#"{"numbers": [1, 2]}"#,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn exws");
    let stdout = child.stdout.take().expect("piped stdout");
    // Lines are flushed one by one: four arrive while the process still runs.
    let reader = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut first = Vec::new();
        for _ in 0..4 {
            match lines.next() {
                Some(Ok(line)) => first.push(line),
                _ => break,
            }
        }
        (first, lines)
    });
    let read = tokio::time::timeout(LIMIT, reader).await;
    let (lines, rest) = match read {
        Ok(joined) => joined.expect("reader"),
        Err(_) => {
            let _ = child.kill();
            panic!("listen printed too little in {LIMIT:?}");
        }
    };
    let envelopes: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    let mut ticks: Vec<&Value> = envelopes.iter().filter(|e| e["Type"] == "Tick").collect();
    ticks.sort_by_key(|e| e["Data"]["n"].as_u64());
    assert_eq!(
        ticks,
        vec![
            &json!({"Type": "Tick", "Data": {"n": 0}}),
            &json!({"Type": "Tick", "Data": {"n": 1}}),
            &json!({"Type": "Tick", "Data": {"n": 2}}),
        ]
    );
    assert!(
        envelopes.contains(&json!({"Type": "CalculateResponse", "Data": {"result": 3}})),
        "{envelopes:?}"
    );

    // The server closes (1001): listen ends by itself with exit code 0.
    server.stop().await;
    let waited = tokio::task::spawn_blocking(move || {
        let remaining: Vec<String> = rest.map_while(Result::ok).collect();
        (child.wait(), remaining, child)
    });
    let (status, remaining, mut child) = match tokio::time::timeout(LIMIT, waited).await {
        Ok(joined) => joined.expect("waiter"),
        Err(_) => panic!("listen did not exit after the server closed"),
    };
    let _ = child.kill();
    assert_eq!(remaining, Vec::<String>::new());
    assert_eq!(status.expect("wait").code(), Some(0));
}

#[tokio::test]
async fn listen_rejects_bad_send_data_as_usage() {
    let output = run(["listen", "ws://127.0.0.1:9", "--send", "T", "{bad"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[tokio::test]
async fn listen_ends_with_exit_code_4_after_idle_seconds_without_a_message() {
    let server = start(false).await;
    // `Silent` answers nothing: after the connection, nothing arrives.
    let output = run([
        "listen",
        server.url.as_str(),
        "--send",
        "Silent",
        "{}",
        "--idle",
        "0.3",
    ])
    .await;
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no message within 0.3 s") && stderr(&output).contains("never"),
        "{}",
        stderr(&output)
    );
    assert_eq!(stdout(&output), "");
    server.stop().await;
}

#[tokio::test]
async fn every_client_command_documents_its_default_wait_in_its_help() {
    for (command, default) in [
        ("call", "[default: 10]"),
        ("send", "[default: 10]"),
        ("stream", "[default: 10]"),
        ("listen", "[default: 300]"),
    ] {
        let output = run([command, "--help"]).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let help = stdout(&output);
        assert!(help.contains(default), "`exws {command} --help`:\n{help}");
    }
    let output = run(["listen", "--help"]).await;
    assert!(stdout(&output).contains("never"), "{}", stdout(&output));
}

#[tokio::test]
async fn gateway_refuses_client_options_before_it() {
    let output = run(["--timeout", "3", "gateway", "--ws-port", "0"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--timeout"), "{}", stderr(&output));
}
