//! The last warnings and errors, kept for the looking glass (`/looking-glass/logs`, and the
//! count in `/looking-glass/summary`), as BaGPipe-BGP keeps its last 100 WARNING+ records.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// How many records are kept.
const KEPT: usize = 100;

static RECORDS: Mutex<VecDeque<serde_json::Value>> = Mutex::new(VecDeque::new());
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// A layer that keeps WARN and ERROR events.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogCapture;

struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for LogCapture {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if level > Level::WARN {
            return;
        }
        let mut fields = Fields {
            message: String::new(),
            rest: String::new(),
        };
        event.record(&mut fields);
        let record = serde_json::json!({
            "level": if level == Level::ERROR { "ERROR" } else { "WARNING" },
            "time": crate::api_bridge::utc_text(std::time::SystemTime::now()),
            "name": event.metadata().target(),
            "message": format!("{}{}", fields.message, fields.rest),
        });
        COUNT.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut records) = RECORDS.lock() {
            if records.len() == KEPT {
                records.pop_back();
            }
            records.push_front(record);
        }
    }
}

/// The kept records, newest first, and how many warnings and errors were logged in all.
pub fn captured() -> (Vec<serde_json::Value>, usize) {
    let records = RECORDS
        .lock()
        .map(|r| r.iter().cloned().collect())
        .unwrap_or_default();
    (records, COUNT.load(Ordering::Relaxed))
}
