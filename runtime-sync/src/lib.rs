//! bagpipe-sync: a single-threaded runtime of the bagpipe-rs core over poll(2), and the host
//! helpers (configuration files, logging, clock, peer status) that the smol daemon shares.

pub mod api_bridge;
pub mod dataplane;
pub mod engine;
pub mod host;
pub mod http;
pub mod log_capture;
pub mod run;

pub use engine::Engine;
pub use run::{run_engine, RunError};
