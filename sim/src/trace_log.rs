//! What the clients say during a run, for `run --trace`: the broker crate's `tracing` events
//! (requests sent, errors received, retries and their backoff, metadata refreshes, connection
//! failures, timeouts), each kept with the simulated time and the node that emitted it, to be
//! merged with the history's trace (`trace::render_with_log`).
//!
//! - The collector is installed for one run only, as its thread's default subscriber
//!   (`tracing::subscriber::with_default` around the run), never globally: a sweep runs many runs
//!   at once on other threads, and a run without `--trace` installs nothing, so each event costs
//!   one cached callsite check.
//! - Spans are not tracked (madsim's task spans carry process-global ids). The node comes from
//!   [`in_node`], which the harness enters around every step of a node; the time from the run's
//!   clock; the place among the history's events from the history's length at that moment.
//! - Only events of the broker crate are kept, whatever the filter lets through: another crate's
//!   (madsim's) may carry process-global ids, and the trace must be the same on every run of a
//!   seed. Nothing here is recorded in the history, so tracing cannot change a history hash.
//! - Fields named `broker`, `node` or `leader` hold node ids and `first`, `last` or `value` record
//!   values: they are written as the report names them (`broker-2`, `p1-350`).

use crate::clock::Clock;
use crate::history::{History, ValueName};
use broker::types::{Millis, NodeId};
use std::cell::Cell;
use std::fmt::{self, Write};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::EnvFilter;

/// The filter `--trace` uses when neither `--log` nor `RUST_LOG` gives one: the clients' requests,
/// errors, retries, metadata refreshes and timeouts.
pub const DEFAULT_FILTER: &str = "info";

thread_local! {
    static NODE: Cell<Option<NodeId>> = const { Cell::new(None) };
}

/// While it lives, events on this thread are `node`'s.
pub struct InNode {
    previous: Option<NodeId>,
}

pub fn in_node(node: NodeId) -> InNode {
    InNode { previous: NODE.with(|n| n.replace(Some(node))) }
}

impl Drop for InNode {
    fn drop(&mut self) {
        NODE.with(|n| n.set(self.previous));
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    Node(NodeId),
    Value(u64),
    Text(String),
}

/// One event as the trace shows it.
#[derive(Clone, Debug)]
pub struct LogLine {
    pub time_ms: Millis,
    /// The node stepped when it was emitted, if any.
    pub node: Option<NodeId>,
    /// How many history events had been recorded: the line goes before the next one.
    pub after_events: usize,
    pub level: Level,
    pub target: &'static str,
    pub message: String,
    pub fields: Vec<(&'static str, FieldValue)>,
}

impl LogLine {
    /// The line without its time and node: `[producer] message key=value …`.
    pub fn describe(&self, history: &History) -> String {
        let module = self.target.rsplit("::").next().unwrap_or(self.target);
        let mut s = format!("[{module}] {}", self.message);
        for (name, value) in &self.fields {
            let _ = match value {
                FieldValue::Node(n) => write!(s, " {name}={}", history.node_name(*n)),
                FieldValue::Value(v) => write!(s, " {name}={}", ValueName(*v)),
                FieldValue::Text(t) => write!(s, " {name}={t}"),
            };
        }
        s
    }
}

#[derive(Default)]
struct Sink {
    lines: Vec<LogLine>,
    clock: Option<Clock>,
    history: Option<Arc<Mutex<History>>>,
    after_events: usize,
}

/// Where a run's collector puts its lines.
#[derive(Clone, Default)]
pub struct LogSink(Arc<Mutex<Sink>>);

impl LogSink {
    /// Gives the collector the run's clock and history, once both exist.
    pub fn attach(&self, clock: Clock, history: Arc<Mutex<History>>) {
        let mut sink = self.0.lock().expect("log lock");
        sink.clock = Some(clock);
        sink.history = Some(history);
    }

    pub fn take(&self) -> Vec<LogLine> {
        let mut sink = self.0.lock().expect("log lock");
        sink.history = None;
        std::mem::take(&mut sink.lines)
    }
}

/// The subscriber for one run: `filter` over a collector writing to `sink`.
pub fn subscriber(filter: EnvFilter, sink: LogSink) -> impl Subscriber + Send + Sync {
    Collector { sink }.with(filter)
}

/// Parses a `--log` filter (`RUST_LOG` syntax: `info`, `broker::producer=debug,warn`).
pub fn parse_filter(filter: &str) -> Result<EnvFilter, String> {
    EnvFilter::builder().parse(filter).map_err(|e| format!("bad log filter {filter:?}: {e}"))
}

struct Collector {
    sink: LogSink,
}

fn is_broker(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    // Events, and the `enabled!` hints that guard costly ones; never spans.
    !metadata.is_span() && (target == "broker" || target.starts_with("broker::"))
}

impl Subscriber for Collector {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if is_broker(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        is_broker(metadata)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // Spans are not tracked, and none of the broker's is enabled.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut visitor = Fields::default();
        event.record(&mut visitor);
        let mut sink = self.sink.0.lock().expect("log lock");
        let time_ms = sink.clock.map_or(0, |c| c.now_ms());
        // The history is never locked while a core runs; should it be, the last length stands.
        if let Some(len) = sink.history.as_ref().and_then(|h| h.try_lock().ok().map(|h| h.events.len())) {
            sink.after_events = len;
        }
        let metadata = event.metadata();
        let line = LogLine {
            time_ms,
            node: NODE.with(Cell::get),
            after_events: sink.after_events,
            level: *metadata.level(),
            target: metadata.target(),
            message: visitor.message,
            fields: visitor.fields,
        };
        sink.lines.push(line);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, FieldValue)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: FieldValue) {
        self.fields.push((field.name(), value));
    }
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        let value = match field.name() {
            "broker" | "node" | "leader" => match u32::try_from(value) {
                Ok(id) => FieldValue::Node(NodeId(id)),
                Err(_) => FieldValue::Text(value.to_string()),
            },
            "first" | "last" | "value" => FieldValue::Value(value),
            _ => FieldValue::Text(value.to_string()),
        };
        self.push(field, value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.push(field, FieldValue::Text(value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.push(field, FieldValue::Text(format!("{value:?}")));
        }
    }
}
