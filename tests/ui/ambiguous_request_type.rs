use serde::Deserialize;

#[derive(Deserialize)]
struct Name {
    first: String,
}

#[exws::message]
async fn greet(request: Option<Name>) {
    let _ = request.map(|name| name.first);
}

fn main() {}
