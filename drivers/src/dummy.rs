//! The dummy driver (reference §6.1): programs nothing, records every call, and checks each
//! operation as a real driver would (VPN type, encapsulation, direction, known instance), so
//! that control-plane tests catch operations no dataplane could carry out.

use std::collections::BTreeSet;

use bagpipe_core::config::VpnType;
use bagpipe_core::dataplane::{
    ApplyError, Capabilities, DataplaneDriver, Direction, DriverError, Encapsulation, Operation,
    OperationFailure,
};
use bagpipe_core::rib::InstanceId;

/// The driver's name.
pub const DRIVER_NAME: &str = "dummy";

/// One call the dummy driver received.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum DummyEvent {
    /// [`DataplaneDriver::apply`], with the operations and those that failed.
    Apply {
        /// The batch.
        operations: Vec<Operation>,
        /// The failures (unknown instance, unsupported encapsulation, ...).
        failures: Vec<OperationFailure>,
    },
    /// [`DataplaneDriver::reconcile`].
    Reconcile,
    /// [`DataplaneDriver::cleanup_all`].
    CleanupAll,
    /// [`DataplaneDriver::remove_unclaimed`].
    RemoveUnclaimed,
}

/// A driver that records operations (tests, control-plane-only nodes, the looking glass).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DummyDriver {
    capabilities: Capabilities,
    instances: BTreeSet<InstanceId>,
    events: Vec<DummyEvent>,
}

impl DummyDriver {
    /// A dummy driver for one VPN type, with BaGPipe-BGP's encapsulations (reference §2.5):
    /// IP-VPN DEFAULT and MPLS, E-VPN VXLAN; no ECMP; direction `both` only.
    pub fn new(vpn_type: VpnType) -> Self {
        let encapsulations = match vpn_type {
            VpnType::Ipvpn => vec![Encapsulation::Default, Encapsulation::MPLS],
            VpnType::Evpn => vec![Encapsulation::VXLAN],
        };
        DummyDriver::with_capabilities(Capabilities {
            driver: DRIVER_NAME.to_string(),
            vpn_type,
            encapsulations,
            ecmp: false,
            directions: vec![Direction::Both],
            needs_cleanup_assist: false,
        })
    }

    /// A dummy driver that claims other capabilities (ECMP, more encapsulations), to test the
    /// core against the drivers it cannot run here.
    pub fn with_capabilities(capabilities: Capabilities) -> Self {
        DummyDriver {
            capabilities,
            instances: BTreeSet::new(),
            events: Vec::new(),
        }
    }

    /// Every call, in order.
    pub fn events(&self) -> &[DummyEvent] {
        &self.events
    }

    /// Every operation applied, in order, across batches.
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.events.iter().flat_map(|e| match e {
            DummyEvent::Apply { operations, .. } => operations.as_slice(),
            _ => &[],
        })
    }

    /// The instances created and not cleaned up.
    pub fn instances(&self) -> &BTreeSet<InstanceId> {
        &self.instances
    }

    /// Forgets the recorded calls (not the instances).
    pub fn clear_events(&mut self) {
        self.events.clear();
    }

    fn check(&mut self, op: &Operation) -> Result<(), DriverError> {
        self.capabilities.check(op)?;
        match op {
            Operation::CreateInstance(spec) => {
                self.instances.insert(spec.instance);
                Ok(())
            }
            Operation::CleanupInstance { instance } => {
                if self.instances.remove(instance) {
                    Ok(())
                } else {
                    Err(DriverError::UnknownInstance {
                        instance: *instance,
                    })
                }
            }
            other if !self.instances.contains(&other.instance()) => {
                Err(DriverError::UnknownInstance {
                    instance: other.instance(),
                })
            }
            _ => Ok(()),
        }
    }
}

impl DataplaneDriver for DummyDriver {
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn apply(&mut self, ops: &[Operation]) -> Result<(), ApplyError> {
        let mut failures = Vec::new();
        for (index, op) in ops.iter().enumerate() {
            if let Err(error) = self.check(op) {
                failures.push(OperationFailure {
                    index,
                    operation: op.clone(),
                    error,
                });
            }
        }
        self.events.push(DummyEvent::Apply {
            operations: ops.to_vec(),
            failures: failures.clone(),
        });
        ApplyError::into_result(failures)
    }

    fn reconcile(&mut self) -> Result<(), ApplyError> {
        self.events.push(DummyEvent::Reconcile);
        Ok(())
    }

    fn cleanup_all(&mut self) -> Result<(), DriverError> {
        self.instances.clear();
        self.events.push(DummyEvent::CleanupAll);
        Ok(())
    }

    fn remove_unclaimed(&mut self) -> Result<Vec<String>, DriverError> {
        // Nothing outlives the process: an earlier run left nothing to remove.
        self.events.push(DummyEvent::RemoveUnclaimed);
        Ok(Vec::new())
    }

    fn has_earlier_state(&mut self) -> Result<bool, DriverError> {
        Ok(false)
    }
}
