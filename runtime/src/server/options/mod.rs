//! The `Server`'s option setters and their validation, by what they configure. An invalid
//! value is recorded (`Server::reject`) and reported when the server starts.

mod admission;
mod http;
mod limits;
mod wiring;
