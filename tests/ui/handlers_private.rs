mod inner {
    #[derive(serde::Deserialize)]
    pub struct Ping {}

    #[exws::message]
    async fn ping(_request: Ping) {}
}

fn main() {
    let _server = exws::Server::with_handlers(exws::handlers![inner::ping]);
}
