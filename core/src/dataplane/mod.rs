//! The dataplane contract: the operations the core asks of a driver, what a driver can do, and
//! how it fails (reference §6.0).
//!
//! The core never programs a dataplane. Its VPN instances emit [`Operation`] values; a runtime
//! hands them, in batches, to a [`DataplaneDriver`] (crate `bagpipe-drivers`) and feeds the
//! answer back. Batches matter: one BGP UPDATE can carry hundreds of MAC routes, and a driver
//! turns a batch into a few kernel round trips.
//!
//! Rules every driver follows:
//! - **idempotent**: applying an operation that is already in effect changes nothing and
//!   succeeds (adding an entry that exists, removing one that does not);
//! - **best effort per batch**: every operation of a batch is attempted; those that fail are
//!   reported together in one [`ApplyError`], each with its index in the batch;
//! - **owns what it creates**: [`DataplaneDriver::cleanup_all`] removes everything the driver
//!   (or an earlier run of it) created, and nothing else.

mod capabilities;
mod error;
mod operation;

pub use capabilities::Capabilities;
pub use error::{ApplyError, DriverError, OperationFailure};
pub use operation::{
    Destination, Direction, Encapsulation, FloodEntry, InstanceSpec, LocalPort, NeighbourEntry,
    NextHop, Operation, RemoteEndpoint, TunnelId,
};

/// A dataplane driver: turns [`Operation`]s into kernel or switch state. Synchronous; a runtime
/// runs it off its event loop.
pub trait DataplaneDriver {
    /// What the driver supports.
    fn capabilities(&self) -> Capabilities;

    /// Carries out a batch of operations, in order. Every operation is attempted; the failed ones
    /// are returned together (an operation on an instance whose creation failed fails too).
    fn apply(&mut self, ops: &[Operation]) -> Result<(), ApplyError>;

    /// Programs again everything the driver currently holds for its instances, repairing what was
    /// changed or removed behind its back (after a restart of a kernel component, an operator's
    /// mistake). Idempotent, like [`apply`](DataplaneDriver::apply).
    fn reconcile(&mut self) -> Result<(), ApplyError>;

    /// Removes everything the driver ever created, including what an earlier run left behind
    /// (BaGPipe-BGP `reset_state`, run at start-up and by `bagpipe-bgp-cleanup`), and forgets all
    /// instances.
    fn cleanup_all(&mut self) -> Result<(), DriverError>;
}

#[cfg(test)]
mod tests;
