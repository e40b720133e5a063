use serde::Deserialize;

#[derive(Deserialize)]
struct WhoAmI {}

#[exws::message]
async fn whoami(_request: WhoAmI) -> String {
    String::new()
}

fn main() {}
