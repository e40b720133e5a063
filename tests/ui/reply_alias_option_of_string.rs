use serde::Deserialize;

#[derive(Deserialize)]
struct WhoAmI {}

type Maybe<T> = Option<T>;

#[exws::message]
async fn whoami(_request: WhoAmI) -> Maybe<String> {
    None
}

fn main() {}
