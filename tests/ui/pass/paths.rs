//! `handlers![...]` follows the function's paths: nested modules, `pub(crate)`, `pub use`
//! re-exports and renames.

mod api {
    pub mod v1 {
        #[derive(serde::Deserialize)]
        pub struct Ping {}

        #[exws::message]
        pub(crate) async fn ping(_request: Ping) {}

        pub mod deeper {
            #[derive(serde::Deserialize)]
            pub struct Pong {}

            #[exws::message]
            pub(in crate::api) async fn pong(_request: Pong) {}

            #[derive(serde::Deserialize)]
            pub struct Tick {}

            #[exws::message]
            pub async fn tick(_request: Tick) {}
        }

        pub(crate) use deeper::tick as renamed_tick;

        pub fn listed() -> Vec<&'static exws::Handler> {
            exws::handlers![deeper::pong]
        }
    }

    // A facade module: handlers re-exported under other paths.
    pub use v1::deeper::tick;
    pub(crate) use v1::ping as v1_ping;
}

use api::v1::renamed_tick;

fn main() {
    let list = exws::handlers![api::v1::ping, api::tick, api::v1_ping, renamed_tick];
    let functions: Vec<&str> = list.iter().map(|handler| handler.function()).collect();
    assert_eq!(functions, ["ping", "tick", "ping", "tick"]);
    assert_eq!(api::v1::listed()[0].function(), "pong");
    assert!(list[0].module_path().ends_with("api::v1"));
}
