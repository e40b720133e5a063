//! The calculator's messages.

use serde::{Deserialize, Serialize};

/// Sum these numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CalculateRequest {
    /// The numbers to add.
    pub numbers: Vec<i64>,
}

/// The sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CalculateResponse {
    /// The sum of the request's numbers.
    pub result: i64,
}
