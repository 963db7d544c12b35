//! What goes wrong in a driver, as values.

use core::fmt;

use super::operation::Operation;
use crate::rib::InstanceId;

/// Why a driver could not carry out an operation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum DriverError {
    /// The driver does not do this: another VPN type, an encapsulation or direction it does not
    /// support, an operation that makes no sense for it.
    Unsupported {
        /// The driver's name.
        driver: String,
        /// What was asked, in words.
        what: String,
    },
    /// An operation for an instance the driver was never asked to create (or already cleaned up).
    UnknownInstance {
        /// The instance.
        instance: InstanceId,
    },
    /// An argument the driver cannot use: a name too long for an interface, a label where a VNI is
    /// needed, two instances that would share a device.
    InvalidArgument {
        /// Which argument.
        what: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The kernel refused a request.
    Kernel {
        /// The request, in words (`add fdb 02:00:00:00:00:02 dst 10.0.0.2 on vxlan--x`).
        request: String,
        /// The errno the kernel answered (positive, e.g. 17 for EEXIST).
        errno: i32,
        /// The error text: the kernel's extended ack message when it gave one, else strerror.
        message: String,
    },
    /// Talking to the kernel failed (socket, truncated or undecodable answer).
    Io {
        /// What the driver was doing.
        context: String,
        /// The error.
        message: String,
    },
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::Unsupported { driver, what } => {
                write!(f, "driver {driver} does not support {what}")
            }
            DriverError::UnknownInstance { instance } => {
                write!(f, "unknown VPN instance {}", instance.0)
            }
            DriverError::InvalidArgument { what, reason } => write!(f, "invalid {what}: {reason}"),
            DriverError::Kernel {
                request,
                errno,
                message,
            } => write!(f, "{request}: {message} (errno {errno})"),
            DriverError::Io { context, message } => write!(f, "{context}: {message}"),
        }
    }
}

impl std::error::Error for DriverError {}

/// One operation of a batch that failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OperationFailure {
    /// Its position in the batch given to [`DataplaneDriver::apply`](super::DataplaneDriver::apply).
    pub index: usize,
    /// The operation.
    pub operation: Operation,
    /// Why it failed.
    pub error: DriverError,
}

/// The operations of a batch that failed; all the others were carried out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApplyError {
    /// The failures, in batch order.
    pub failures: Vec<OperationFailure>,
}

impl ApplyError {
    /// An error for one failed operation.
    pub fn single(index: usize, operation: Operation, error: DriverError) -> Self {
        ApplyError {
            failures: vec![OperationFailure {
                index,
                operation,
                error,
            }],
        }
    }

    /// `Ok` when nothing failed.
    pub fn into_result(failures: Vec<OperationFailure>) -> Result<(), ApplyError> {
        if failures.is_empty() {
            Ok(())
        } else {
            Err(ApplyError { failures })
        }
    }
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} dataplane operation(s) failed", self.failures.len())?;
        for failure in &self.failures {
            write!(
                f,
                "; #{} {} (instance {}): {}",
                failure.index,
                failure.operation.name(),
                failure.operation.instance().0,
                failure.error
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ApplyError {}
