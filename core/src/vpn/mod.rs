//! VPN instances (reference §2): E-VPN instances (RFC 7432, RFC 8365) and IP-VPN VRFs
//! (RFC 4364), the manager that creates them on attach and removes them with their last
//! endpoint, and the identifier allocators.

pub mod allocator;
pub mod chaining;
pub mod error;
pub mod instance;
pub mod manager;

#[cfg(test)]
pub(crate) mod tests;

pub use error::VpnError;
pub use instance::{Instance, TrackedEntry};
pub use manager::{PendingChange, VpnManager, VpnSettings};
