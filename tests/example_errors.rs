//! The examples as a person runs them: when they cannot start, they say why in one sentence on
//! stderr, with what to do, and exit with status 1.

mod examples_support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running example; killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the calculator on a free port and returns it with the address it printed.
fn start_calculator() -> (Running, String) {
    let binary = examples_support::example_binary("calculator");
    let mut child = Command::new(binary)
        .env("EXWS_ADDR", "127.0.0.1:0")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the calculator starts");
    let stdout = child.stdout.take().expect("piped");
    let running = Running(child);
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = lines.send(line);
    });
    let line = received
        .recv_timeout(Duration::from_secs(30))
        .expect("the calculator prints its address within 30 s");
    let addr = line
        .trim()
        .strip_prefix("exws listening on ws://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (running, addr)
}

/// Runs the calculator to its end (bounded) and returns its exit code and stderr.
fn run_calculator(addr: &str) -> (Option<i32>, String) {
    run_example("calculator", &[("EXWS_ADDR", addr)])
}

/// Runs the example `name` with `env` to its end (bounded); returns its exit code and stderr.
fn run_example(name: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let binary = examples_support::example_binary(name);
    let mut child = Command::new(binary)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the calculator starts");
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the example is waited for") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the {name} example with {env:?} neither served nor exited within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), reader.join().expect("stderr read"))
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
