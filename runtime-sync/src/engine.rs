//! The part of the core's contract a runtime drives: one input at a time with the current
//! time, then every output drained, then sleep until the next deadline (see `bagpipe_core`'s
//! crate documentation). Both runtimes are written against this trait, implemented by the
//! core's `Speaker`, so that they carry no protocol logic.

use bagpipe_core::speaker::{NetInput, NetOutput};
use bagpipe_core::time::Instant;

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
}

use bagpipe_core::speaker::{Output, Speaker, SpeakerEvent};

impl Engine for Speaker {
    fn start(&mut self, now: Instant) {
        Speaker::start(self, now);
    }

    fn handle_net(&mut self, now: Instant, input: NetInput) {
        Speaker::handle_net(self, now, input);
    }

    fn handle_timeout(&mut self, now: Instant) {
        Speaker::handle_timeout(self, now);
    }

    fn shutdown(&mut self, now: Instant, message: &str) {
        Speaker::shutdown(self, now, message);
    }

    fn poll_net(&mut self) -> Option<NetOutput> {
        loop {
            match self.poll_output()? {
                Output::Net(net) => return Some(net),
                Output::Event(event) => log_event(&event),
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Speaker::poll_timeout(self)
    }
}

/// Logs a speaker event: transitions with their reason, NOTIFICATIONs both ways, warnings.
pub fn log_event(event: &SpeakerEvent) {
    match event {
        SpeakerEvent::StateChanged {
            address,
            from,
            to,
            reason,
            ..
        } => {
            tracing::info!(peer = %address, %from, %to, reason, "peer state changed");
        }
        SpeakerEvent::NotificationSent {
            address,
            notification,
            ..
        } => {
            tracing::warn!(peer = %address, %notification, "NOTIFICATION sent");
        }
        SpeakerEvent::NotificationReceived {
            address,
            notification,
            ..
        } => {
            tracing::warn!(peer = %address, %notification, "NOTIFICATION received");
        }
        SpeakerEvent::Warning {
            address, message, ..
        } => {
            tracing::warn!(peer = %address, "{message}");
        }
        SpeakerEvent::UnknownPeerRejected { remote } => {
            tracing::warn!(%remote, "connection from an unknown peer refused");
        }
    }
}
