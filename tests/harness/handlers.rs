//! Handlers shared by the test binaries: the quick start's calculator, and `Add`, a cheap
//! request with an `Id` to prove a connection still answers.

use serde::{Deserialize, Serialize};

/// The calculator handler of the quick start.
#[exws::message]
pub async fn calculate(
    request: exws_workspace::calculator::CalculateRequest,
) -> exws_workspace::calculator::CalculateResponse {
    exws_workspace::calculator::CalculateResponse {
        result: request.numbers.iter().sum(),
    }
}

/// `Add` requests, answered by [`add`] with a `Sum`.
#[derive(Debug, Deserialize)]
pub struct Add {
    pub a: i64,
    pub b: i64,
}

/// The reply of [`add`].
#[derive(Debug, Serialize)]
pub struct Sum {
    pub sum: i64,
}

/// A cheap handler to prove a connection still works.
#[exws::message]
pub async fn add(request: Add) -> Sum {
    Sum {
        sum: request.a.wrapping_add(request.b),
    }
}
