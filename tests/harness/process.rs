//! The examples' binaries (`examples/*.rs`) for the tests that run them as OS processes
//! (`tests/chat_example.rs`, `tests/cluster.rs`, `tests/telegram.rs`,
//! `tests/example_errors.rs`).
//!
//! `EXWS_<NAME>_BIN` (e.g. `EXWS_CHAT_BIN`) names a binary built beforehand; `scripts/test`
//! builds every example once, with the test run's own packages and features, and sets them.
//! Otherwise the example is built here, once per test binary, with the features this test was
//! built with and into its target directory and profile, so that `cargo test --all-features
//! --test chat_example` reuses what it has already compiled.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The path of the example `name` (`"chat"`, `"calculator"`, `"telegram"`), built if needed.
/// Blocks while cargo builds; call it from `spawn_blocking` in async tests.
pub fn example_binary(name: &str) -> PathBuf {
    let variable = format!("EXWS_{}_BIN", name.to_uppercase());
    if let Some(path) = std::env::var_os(&variable) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{variable}={} is not a file; unset it to have the test build the example",
            path.display()
        );
        return path;
    }
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    // Held while building: cargo would serialize the builds on its target directory anyway.
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let path = build(&["--example", name], name, &features());
    built.insert(name.to_owned(), path.clone());
    path
}

/// The path of the `exws` command-line tool (package `exws-cli`), built if needed (once per
/// test binary); `EXWS_CLI_BIN` names one built beforehand. Blocks while cargo builds.
pub fn cli_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("EXWS_CLI_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "EXWS_CLI_BIN={} is not a file; unset it to have the test build the CLI",
            path.display()
        );
        return path;
    }
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    built
        .get_or_insert_with(|| build(&["-p", "exws-cli", "--bin", "exws"], "exws", &[]))
        .clone()
}

/// The root package's features this test binary was compiled with, for `--features`.
fn features() -> Vec<&'static str> {
    let mut features = Vec::new();
    if cfg!(feature = "redis") {
        features.push("redis");
    }
    if cfg!(feature = "nats") {
        features.push("nats");
    }
    if cfg!(feature = "prometheus") {
        features.push("prometheus");
    }
    if cfg!(feature = "schema") {
        features.push("schema");
    }
    if cfg!(feature = "gateway") {
        features.push("gateway");
    }
    features
}

/// Environment variables cargo sets for a test process that a shell does not have. Some build
/// scripts rerun when they change (*ring*'s watches `CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`...),
/// so a cargo started with them would rebuild *ring* and everything above it, and the next
/// `cargo test` from the shell would rebuild it all again.
fn is_test_only_variable(name: &str) -> bool {
    const PREFIXES: [&str; 5] = [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        || matches!(
            name,
            "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR" | "OUT_DIR"
        )
}

/// `cargo build` of `target` (e.g. `--example chat`) with `features`; returns the path of the
/// executable named `name`.
fn build(target: &[&str], name: &str, features: &[&str]) -> PathBuf {
    // This test binary is `<target dir>/<profile dir>/deps/<test>-<hash>`.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .filter(|deps| deps.ends_with("deps"))
        .and_then(|deps| deps.parent())
        .expect("the test binary is in <target dir>/<profile dir>/deps");
    let target_dir = profile_dir.parent().expect("a target directory");
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("build")
        .args(target)
        .arg("--message-format=json-render-diagnostics")
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|dir| dir.to_str()) {
        Some("debug") | None => {}
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    for (variable, _) in std::env::vars_os() {
        if variable.to_str().is_some_and(is_test_only_variable) {
            command.env_remove(variable);
        }
    }
    let description = format!("cargo build {} --features {features:?}", target.join(" "));
    let mut build = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo runs");
    let stdout = drain(build.stdout.take().expect("piped"));
    let stderr = drain(build.stderr.take().expect("piped"));
    let deadline = Instant::now() + Duration::from_secs(900);
    let status = loop {
        if let Some(status) = build.try_wait().expect("cargo is waited for") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = build.kill();
            panic!("`{description}` took over 15 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = stdout.join().expect("stdout read");
    let stderr = stderr.join().expect("stderr read");
    assert!(status.success(), "`{description}` failed:\n{stderr}");
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == name
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("`{description}` named no executable:\n{stdout}"))
}

/// Reads `pipe` to its end on a thread.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// An example running as an OS process on a free loopback port (`EXWS_ADDR=127.0.0.1:0`),
/// with its address read from its `exws listening on ws://IP:PORT` line; killed on drop.
pub struct ExampleProcess {
    child: std::process::Child,
    url: String,
    addr: std::net::SocketAddr,
    output: std::sync::Arc<Mutex<String>>,
}

impl ExampleProcess {
    /// Builds (if needed) and starts the example `name` with `env` on top of
    /// `EXWS_ADDR=127.0.0.1:0` and `RUST_LOG=warn`; waits up to 30 s for its address.
    pub async fn start(name: &str, env: &[(&str, &str)]) -> ExampleProcess {
        let name = name.to_owned();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        tokio::task::spawn_blocking(move || ExampleProcess::start_blocking(&name, &env))
            .await
            .expect("starting the example did not panic")
    }

    /// [`start`](Self::start) for tests that are not async: blocks while it builds and starts.
    pub fn start_blocking(name: &str, env: &[(String, String)]) -> ExampleProcess {
        use std::io::BufRead;
        let binary = example_binary(name);
        let mut child = Command::new(&binary)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("EXWS_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .env_remove("EXWS_REDIS_URL")
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let output = std::sync::Arc::new(Mutex::new(String::new()));
        let (found, address) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        for (pipe, found) in [
            (Box::new(stdout) as Box<dyn Read + Send>, Some(found)),
            (Box::new(stderr), None),
        ] {
            let log = output.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let (Some(found), Some(url)) =
                        (&found, line.strip_prefix("exws listening on "))
                    {
                        let url = url.split_whitespace().next().unwrap_or_default();
                        let _ = found.send(url.to_owned());
                    }
                    let mut log = log.lock().unwrap_or_else(|poison| poison.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let mut process = ExampleProcess {
            child,
            url: String::new(),
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            output,
        };
        let Ok(url) = address.recv_timeout(Duration::from_secs(30)) else {
            panic!(
                "the {name} example printed no address within 30 s (status {:?}); its output:\n{}",
                process.child.try_wait(),
                process.output()
            )
        };
        process.addr = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {url:?}"));
        process.url = url;
        process
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The URL it printed (`ws://IP:PORT` and any path).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Everything it printed so far, stdout and stderr.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    /// Fails the test if the process has exited.
    pub fn assert_running(&mut self) {
        let status = self.child.try_wait().expect("the process is waited for");
        assert!(
            status.is_none(),
            "the example exited ({status:?}); its output:\n{}",
            self.output()
        );
    }

    /// Kills the process (SIGKILL: it cannot clean up) and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("the example is killed");
        self.child.wait().expect("the example is reaped");
    }

    /// Sends the signal `name` (`TERM`, `INT`) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {name} failed: {status}");
    }

    /// Waits (up to [`TIMEOUT`](super::timing::TIMEOUT)) for the process to exit; its status.
    pub async fn exited(&mut self) -> std::process::ExitStatus {
        super::timing::within("the example to exit", async {
            loop {
                if let Some(status) = self.child.try_wait().expect("the process is waited for") {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
    }
}

impl Drop for ExampleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the example `name` with `env` to its end (bounded by 30 s); returns its exit code and
/// stderr.
pub fn run_example(name: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let binary = example_binary(name);
    let mut child = Command::new(binary)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("the {name} example starts: {error}"));
    let stderr = drain(child.stderr.take().expect("piped"));
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
    (status.code(), stderr.join().expect("stderr read"))
}
