//! Peer state changes, logged by the runtimes in one stable form
//! (`peer state changed`, fields `peer`, `from`, `to`) that operators and tests can follow.

use crate::engine::Engine;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The last state logged for each peer.
#[derive(Debug, Default)]
pub struct StateWatch {
    last: BTreeMap<IpAddr, String>,
}

impl StateWatch {
    /// Log every peer whose state differs from the last one logged.
    pub fn log_changes(&mut self, engine: &impl Engine) {
        for (peer, state) in engine.peer_states() {
            let previous = self.last.get(&peer);
            if previous != Some(&state) {
                let from = previous.map(String::as_str).unwrap_or("-");
                tracing::info!(%peer, from, to = %state, "peer state changed");
                self.last.insert(peer, state);
            }
        }
    }
}
