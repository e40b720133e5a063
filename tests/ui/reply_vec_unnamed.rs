use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct ListRooms {}

#[derive(Serialize)]
struct Room {}

#[exws::message]
async fn list_rooms(_request: ListRooms) -> Vec<Room> {
    Vec::new()
}

fn main() {}
