//! `exws contract diff` and `exws codegen typescript` over real documents: two versions of a
//! server, each built with `Server::with_handlers`, their contracts made by `Server::asyncapi`
//! (v1 as a file, v2 served at `/asyncapi.json` and fetched over HTTP).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::future::IntoFuture;
use std::path::PathBuf;
use std::process::{Command, Output};

mod v1 {
    use super::*;

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    pub(crate) struct JoinRoom {
        pub room: String,
        pub nickname: Option<String>,
    }

    #[derive(Serialize, JsonSchema)]
    pub(crate) struct Joined {
        pub room: String,
        pub members: u32,
    }

    /// Joins a room.
    #[exws::message]
    pub(crate) async fn join(request: JoinRoom) -> Joined {
        Joined {
            room: request.room,
            members: 1,
        }
    }

    #[derive(Deserialize, JsonSchema)]
    pub(crate) struct Ping {
        pub n: u32,
    }

    #[derive(Serialize, JsonSchema)]
    pub(crate) struct Pong {
        pub n: u32,
    }

    #[exws::message]
    pub(crate) async fn ping(request: Ping) -> Pong {
        Pong { n: request.n }
    }

    #[derive(Serialize, JsonSchema)]
    pub(crate) struct Notice {
        pub text: String,
        pub level: u8,
    }
}

mod v2 {
    use super::*;

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    pub(crate) struct JoinRoom {
        pub room: String,
        /// Now required.
        pub nickname: String,
    }

    /// `members` removed, `room` now a number.
    #[derive(Serialize, JsonSchema)]
    pub(crate) struct Joined {
        pub room: u64,
    }

    /// Joins a room.
    #[exws::message]
    pub(crate) async fn join(request: JoinRoom) -> Joined {
        Joined {
            room: request.room.len() as u64,
        }
    }

    #[derive(Serialize, JsonSchema)]
    pub(crate) struct Notice {
        pub text: String,
        pub level: u8,
        /// An added field: compatible.
        pub at: Option<u64>,
    }
}

fn exws(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_exws"))
        .args(args)
        .output()
        .expect("run exws")
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("exws-contract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write");
    path
}

fn v1_document() -> String {
    let server = exws::Server::with_handlers(exws::handlers![v1::join, v1::ping])
        .contract_info("rooms", "1.0.0")
        .pushes::<v1::Notice>();
    serde_json::to_string_pretty(&server.asyncapi().expect("v1 contract")).expect("JSON")
}

fn v2_server() -> exws::Server {
    exws::Server::with_handlers(exws::handlers![v2::join])
        .contract_info("rooms", "2.0.0")
        .pushes::<v2::Notice>()
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_lists_the_breaking_changes_and_fails() {
    let old = temp_file("v1.json", &v1_document());
    let server = v2_server()
        .serve_asyncapi()
        .bind("127.0.0.1:0")
        .await
        .expect("bind v2");
    let new_url = format!("http://{}", server.local_addr());
    let running = tokio::spawn(server.serve().into_future());
    let old_path = old.to_string_lossy().into_owned();
    let output =
        tokio::task::spawn_blocking(move || exws(&["contract", "diff", &old_path, &new_url]))
            .await
            .expect("exws ran");
    running.abort();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    for expected in [
        "breaking: request `Ping` was removed",
        "breaking: `JoinRoom` Data.nickname: the field became required",
        "breaking: `JoinRoom` Data.nickname: null is no longer accepted",
        "breaking: `Joined` Data.members: the field was removed",
        "breaking: `Joined` Data.room: the type changed from string to integer",
        "breaking: the server no longer sends `Pong`",
        "compatible: `Notice` Data.at: a new field",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in:\n{stdout}");
    }
    assert!(
        !stdout.contains("Notice` Data.text") && !stdout.contains("Notice` Data.level"),
        "unchanged fields are not listed:\n{stdout}"
    );
    assert!(stderr.contains("6 breaking changes"), "{stderr}");
}

#[test]
fn diff_of_a_contract_with_itself_or_with_additions_passes() {
    let old = temp_file("same-v1.json", &v1_document());
    let output = exws(&[
        "contract",
        "diff",
        &old.to_string_lossy(),
        &old.to_string_lossy(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("no breaking change (0 compatible)"));

    // v1 → v1 plus a push and an optional request field: compatible only.
    #[derive(Serialize, JsonSchema)]
    struct Extra {
        x: u8,
    }
    let grown = exws::Server::with_handlers(exws::handlers![v1::join, v1::ping])
        .pushes::<v1::Notice>()
        .pushes::<Extra>()
        .asyncapi()
        .expect("contract");
    let new = temp_file("grown.json", &grown.to_string());
    let output = exws(&[
        "contract",
        "diff",
        &old.to_string_lossy(),
        &new.to_string_lossy(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("compatible: the server now also sends `Extra`"),
        "{stdout}"
    );
}

#[test]
fn bad_documents_are_usage_errors() {
    let not_json = temp_file("not.json", "{oops");
    let output = exws(&[
        "contract",
        "diff",
        &not_json.to_string_lossy(),
        &not_json.to_string_lossy(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not valid JSON"));
    let v2 = temp_file("asyncapi2.json", r#"{"asyncapi": "2.6.0"}"#);
    let output = exws(&["codegen", "typescript", &v2.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("AsyncAPI 2.6.0"));
    let output = exws(&["codegen", "typescript", "/nonexistent/asyncapi.json"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn codegen_declares_the_contract_of_a_file() {
    let document = temp_file("codegen-v1.json", &v1_document());
    let output = exws(&["codegen", "typescript", &document.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0));
    let declarations = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "export type JoinRoom = {\n  nickname?: string | null;\n  room: string;\n};",
        "export type Joined = {\n  members: number;\n  room: string;\n};",
        "    JoinRoom: Joined;",
        "    Notice: Notice;",
        "    Error: ExwsErrorData;",
        "    /** Joins a room. */\n    JoinRoom: JoinRoom;",
    ] {
        assert!(
            declarations.contains(expected),
            "{expected:?} in:\n{declarations}"
        );
    }
}
