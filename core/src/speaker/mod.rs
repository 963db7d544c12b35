//! The speaker: the one state machine that owns sessions, routes and VPN instances.

pub mod io;

pub use io::{ConnectionId, Direction, NetInput, NetOutput, PeerId};
