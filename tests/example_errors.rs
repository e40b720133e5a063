//! The examples as a person runs them: when they cannot start, they say why in one sentence on
//! stderr, with what to do, and exit with status 1; SIGTERM or Ctrl-C (SIGINT) shuts one down
//! gracefully (its clients get 1001) and it exits with status 0.

mod harness;

use harness::process::{run_example, ExampleProcess};
use harness::{Client, Transport};

/// Starts the calculator on a free port and returns it with the address it printed.
fn start_calculator() -> (ExampleProcess, String) {
    let calculator = ExampleProcess::start_blocking("calculator", &[]);
    let addr = calculator.addr().to_string();
    (calculator, addr)
}

/// Runs the calculator to its end (bounded) and returns its exit code and stderr.
fn run_calculator(addr: &str) -> (Option<i32>, String) {
    run_example("calculator", &[("EXWS_ADDR", addr)])
}

#[test]
fn a_second_calculator_on_the_same_address_says_the_address_is_taken_and_what_to_do() {
    let (_first, addr) = start_calculator();
    let (code, stderr) = run_calculator(&addr);
    assert_eq!(code, Some(1), "stderr: {stderr}");
    let expected = format!("calculator: cannot listen on {addr}: the address is already in use");
    assert!(stderr.starts_with(&expected), "stderr: {stderr}");
    assert!(
        stderr.contains("set EXWS_ADDR to another address"),
        "stderr: {stderr}"
    );
    // One line, no Debug dump.
    assert_eq!(stderr.trim_end().lines().count(), 1, "stderr: {stderr}");
    assert!(!stderr.contains("Os {"), "stderr: {stderr}");
}

#[test]
fn an_address_that_is_not_an_address_is_explained() {
    let (code, stderr) = run_calculator("not-an-address");
    assert_eq!(code, Some(1), "stderr: {stderr}");
    assert!(
        stderr.starts_with("calculator: cannot listen on the given address: "),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("IP:PORT"), "stderr: {stderr}");
}

#[cfg(feature = "redis")]
#[test]
fn the_chat_example_without_its_redis_names_redis_and_the_url() {
    // A port that was free a moment ago: connecting to it is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = format!("redis://127.0.0.1:{port}/");
    let (code, stderr) = run_example(
        "chat",
        &[("EXWS_ADDR", "127.0.0.1:0"), ("EXWS_REDIS_URL", &url)],
    );
    assert_eq!(code, Some(1), "stderr: {stderr}");
    let expected =
        format!("chat: the hub adapter could not start: cannot connect to Redis at {url}: ");
    assert!(stderr.starts_with(&expected), "stderr: {stderr}");
    assert!(stderr.contains("check EXWS_REDIS_URL"), "stderr: {stderr}");
}

#[tokio::test]
async fn sigterm_and_ctrl_c_close_the_clients_with_1001_and_exit_0() {
    if harness::skipped_over(Transport::Tls, "the calculator example serves plain ws://")
        || harness::skipped_over(
            Transport::Axum,
            "the calculator example runs its own server",
        )
    {
        return;
    }
    for signal in ["TERM", "INT"] {
        let mut calculator = ExampleProcess::start("calculator", &[]).await;
        let mut client = Client::connect(calculator.addr()).await;
        client.assert_alive().await;
        calculator.signal(signal);
        assert_eq!(
            client.expect_close(1001).await,
            "server shutting down",
            "SIG{signal}"
        );
        client.expect_end().await;
        let status = calculator.exited().await;
        assert!(
            status.success(),
            "after SIG{signal} the calculator exited with {status}; its output:\n{}",
            calculator.output()
        );
    }
}
