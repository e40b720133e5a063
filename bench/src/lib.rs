//! Measuring tools of exws: a load generator (`loadgen`) and the servers it is compared with
//! (`ref_echo`, `ref_handwritten`, `ref_jsonrpsee`, `exws_calculator`). See `bench/README.md`.
//!
//! This library holds what the binaries share: the messages, connecting, statistics and
//! `/proc` readings.

pub mod load;
pub mod net;
pub mod procfs;
pub mod proto;
pub mod stats;
