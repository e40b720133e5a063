use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

struct Database;

#[exws::message]
async fn ping(_request: Ping, _database: Database) {}

fn main() {}
