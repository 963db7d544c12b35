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
//!   (or an earlier run of it) created, and nothing else;
//! - **restart-safe**: a driver starting where an earlier run left state adopts it (creating an
//!   instance whose devices exist reuses them, adding an entry that exists changes nothing), so
//!   traffic that is still valid keeps flowing while the speaker relearns its routes and the
//!   agent re-attaches its ports; [`DataplaneDriver::remove_unclaimed`], called once a grace
//!   period after start, then removes what no instance claimed again.

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

    /// Removes the state an earlier run left that the driver's current instances do not claim:
    /// devices of instances not created again, and entries (remote MACs, flood entries,
    /// neighbours, routes, labels, ports) in adopted devices that no operation asked for since
    /// start. Returns one line per thing removed, for the log. Called by the runtimes once, a
    /// grace period after start (`stale_cleanup_delay`); with no earlier run, removes nothing.
    fn remove_unclaimed(&mut self) -> Result<Vec<String>, DriverError>;

    /// Whether an earlier run left forwarding state that this driver adopts (devices with its
    /// names): the speaker then announces preserved forwarding state to its peers (RFC 4724
    /// §4.1). Asked once, at start.
    fn has_earlier_state(&mut self) -> Result<bool, DriverError>;
}

#[cfg(test)]
mod tests;
