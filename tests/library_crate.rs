//! Handlers in a library crate, a server started in a binary crate that names nothing of the
//! library: the linker drops the library's registrations, so `Server::new()` sees no handler.
//! Such a server must not start and answer `unknown_type` to everything: `bind` refuses it and
//! says what to write. Built for real: a two-crate workspace (`tests/fixtures/library_crate`),
//! compiled with cargo offline against this checkout's runtime.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/library_crate");

/// Builds the fixture once per test binary and returns the directory of its executables.
fn binaries() -> &'static Path {
    static BINARIES: OnceLock<PathBuf> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let fixture = Path::new(FIXTURE);
        // The fixture resolves the same versions as this workspace, from the local registry
        // cache: a copy of the workspace's lock file (cargo drops what it does not use).
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"),
            fixture.join("Cargo.lock"),
        )
        .expect("copy Cargo.lock into the fixture");
        // A directory of its own under this workspace's target: the outer cargo holds the lock
        // of the main build directory while tests run.
        let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/library-crate-fixture");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--offline", "--quiet", "-p", "app"])
            .arg("--manifest-path")
            .arg(fixture.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .status()
            .expect("run cargo");
        assert!(status.success(), "the fixture workspace does not build");
        target.join("debug")
    })
}

/// Runs one of the fixture's binaries: `registered` (`Server::new()` in a `main` that names
/// nothing of the library) or `listed` (`Server::with_handlers(handlers![handlers::add])`).
fn run(binary: &str) -> Output {
    Command::new(binaries().join(binary))
        .output()
        .expect("run the fixture's binary")
}

#[test]
fn server_new_without_the_librarys_handlers_fails_at_bind_and_says_what_to_write() {
    let output = run("registered");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "the server started without handlers; it printed: {stdout}"
    );
    assert!(
        stderr.contains("no handler") && stderr.contains("Server::with_handlers(handlers!["),
        "the error does not say why and what to write: {stderr}"
    );
    assert!(
        stderr.contains("library"),
        "the error does not mention handlers in a library crate: {stderr}"
    );
}

#[test]
fn listing_the_librarys_handlers_serves_them() {
    let output = run("listed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the server did not start: {stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "serves AddRequest\n"
    );
}
