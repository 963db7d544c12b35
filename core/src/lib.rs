//! # bagpipe-core
//!
//! The BGP VPN speaker of bagpipe-rs as a deterministic, sans-IO state machine.
//!
//! ## Run loop
//!
//! The core never touches a socket, a clock, a thread, a file or the kernel. A runtime drives it:
//!
//! ```text
//! speaker.handle_input(now, input);                 // one event, with the current time
//! while let Some(output) = speaker.poll_output() {} // drain everything it wants done
//! speaker.poll_timeout() -> Option<Instant>         // when to call again with no input
//! ```
//!
//! Invariants:
//! - time is a value passed in ([`time::Instant`]), monotonically non-decreasing, never read;
//! - the same configuration, seed and inputs give the same outputs, byte for byte (no `HashMap`
//!   order reaches an output, randomness only from a seeded generator);
//! - nothing derived from input panics: errors are values.

#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod dataplane;
pub mod looking_glass;
pub mod rib;
pub mod session;
pub mod speaker;
pub mod time;
pub mod vpn;
pub mod wire;
