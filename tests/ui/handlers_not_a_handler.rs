async fn not_a_handler() {}

fn main() {
    let _server = exws::Server::with_handlers(exws::handlers![not_a_handler]);
}
