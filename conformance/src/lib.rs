//! bagpipe-conformance: golden vectors, and a deterministic multi-speaker simulator.

pub mod sim;
