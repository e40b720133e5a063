use serde::Deserialize;

#[derive(Deserialize)]
struct Pair {}

#[exws::message]
async fn pair(_request: Pair) -> Result<(u8, u8), String> {
    Ok((1, 2))
}

fn main() {}
