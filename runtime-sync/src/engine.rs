//! The part of the core's contract a runtime drives: one input at a time with the current
//! time, then every output drained, then sleep until the next deadline (see `bagpipe_core`'s
//! crate documentation). Both runtimes are written against this trait, implemented by the
//! core's `Speaker`, so that they carry no protocol logic.

use bagpipe_core::looking_glass::{LookingGlassInfo, NotFound, OperationLog};
use bagpipe_core::speaker::{ApiCall, ApiTicket, BatchId, NetInput, Output};
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
    /// The next output: transport work, an event to log, a dataplane batch, an API answer.
    fn poll_output(&mut self) -> Option<Output>;
    /// The driver's answer to a dataplane batch.
    fn dataplane_done(&mut self, now: Instant, batch: BatchId, result: Result<(), String>);
    /// An API call; the answer comes as [`Output::ApiReply`].
    fn api(&mut self, now: Instant, ticket: ApiTicket, call: ApiCall);
    /// The looking-glass object at `path` (reference §4).
    fn looking_glass(
        &self,
        path: &[String],
        base: &str,
        info: &LookingGlassInfo,
        operations: &OperationLog,
    ) -> Result<serde_json::Value, NotFound>;
    /// When to call [`Engine::handle_timeout`] if nothing else happens.
    fn poll_timeout(&self) -> Option<Instant>;
}

use bagpipe_core::speaker::{Speaker, SpeakerEvent};

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

    fn poll_output(&mut self) -> Option<Output> {
        Speaker::poll_output(self)
    }

    fn dataplane_done(&mut self, now: Instant, batch: BatchId, result: Result<(), String>) {
        Speaker::dataplane_done(self, now, batch, result);
    }

    fn api(&mut self, now: Instant, ticket: ApiTicket, call: ApiCall) {
        Speaker::api(self, now, ticket, call);
    }

    fn looking_glass(
        &self,
        path: &[String],
        base: &str,
        info: &LookingGlassInfo,
        operations: &OperationLog,
    ) -> Result<serde_json::Value, NotFound> {
        Speaker::looking_glass(self, path, base, info, operations)
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
        SpeakerEvent::VpnWarning { message } => tracing::warn!("{message}"),
        SpeakerEvent::ApiDone { call, error: None } => tracing::info!("{call}: done"),
        SpeakerEvent::ApiDone {
            call,
            error: Some(error),
        } => tracing::warn!("{call}: refused: {error}"),
    }
}
