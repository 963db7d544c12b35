//! The part of the core's contract a runtime drives: one input at a time with the current
//! time, then every output drained, then sleep until the next deadline (see `bagpipe_core`'s
//! crate documentation). Both runtimes are written against this trait, implemented by the
//! core's `Speaker`, so that they carry no protocol logic.

use bagpipe_core::speaker::{NetInput, NetOutput};
use bagpipe_core::time::Instant;
use std::net::IpAddr;

/// A state machine a runtime can drive.
pub trait Engine {
    /// Begin: the engine asks for its first dials.
    fn start(&mut self, now: Instant);
    /// A transport event.
    fn handle_net(&mut self, now: Instant, input: NetInput);
    /// The deadline given by [`Engine::poll_timeout`] has passed.
    fn handle_timeout(&mut self, now: Instant);
    /// Stop cleanly: a Cease to every peer, then close.
    fn shutdown(&mut self, now: Instant, message: &str);
    /// The next transport work; the engine's other outputs (events) are logged on the way.
    fn poll_net(&mut self) -> Option<NetOutput>;
    /// When to call [`Engine::handle_timeout`] if nothing else happens.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Each peer's address and session state name (`Idle`, ..., `Established`), for status.
    fn peer_states(&self) -> Vec<(IpAddr, String)>;
}
