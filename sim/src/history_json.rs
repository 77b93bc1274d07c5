//! The history as `run --history FILE` writes it: one JSON object per line, in the identifiers
//! the report uses, so a line found in the file matches a line of the report or the trace.
//!
//! ```text
//! {"node":"producer-1","op":{"SendInvoke":{"key":11,"tp":{"partition":0,"topic":"orders"},"value":"p1-0"}},"time_ms":1000}
//! {"node":"producer-1","op":{"SendOk":{"broker":"broker-1","offset":0,"value":"p1-0"}},"time_ms":1011}
//! {"node":"broker-1","op":{"Replica":{"LeaderIsr":{"epoch":0,"isr":["broker-1","broker-2","broker-3"],"tp":{…}}}},"time_ms":14}
//! ```
//!
//! `time_ms` is simulated time; `node` the node that recorded the event (`nemesis` for faults,
//! `controller` for elections); `op` one [`Op`](crate::history::Op) variant by name. Values
//! (`value` fields) are written as the report names them (`p1-350`: producer-1's send 350), and
//! node ids (`broker`, `leader`, `nodes`, `isr`) as node names. Everything else is as the types
//! serialize: offsets, epochs and times are integers.

use crate::history::{Event, History, ValueName};
use serde_json::{Map, Value};

/// One event as a JSON object in the report's identifiers.
pub fn event(history: &History, event: &Event) -> Value {
    let mut op = serde_json::to_value(&event.op).expect("an op serializes");
    rename(history, &mut op);
    let mut line = Map::new();
    line.insert("time_ms".into(), Value::from(event.time_ms));
    line.insert("node".into(), Value::from(history.node_name(event.node)));
    line.insert("op".into(), op);
    Value::Object(line)
}

/// Rewrites, everywhere in `value`, send values to their names and node ids to node names.
fn rename(history: &History, value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                match (key.as_str(), &*field) {
                    ("value", Value::Number(n)) => {
                        if let Some(v) = n.as_u64() {
                            *field = Value::from(ValueName(v).to_string());
                        }
                    }
                    ("broker" | "leader", Value::Number(_)) => *field = node(history, field),
                    ("nodes" | "isr", Value::Array(ids)) => {
                        *field = Value::Array(ids.iter().map(|id| node(history, id)).collect())
                    }
                    _ => rename(history, field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename(history, item)),
        _ => {}
    }
}

fn node(history: &History, id: &Value) -> Value {
    match id.as_u64().and_then(|n| u32::try_from(n).ok()) {
        Some(n) => Value::from(history.node_name(broker::types::NodeId(n))),
        None => id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Op;
    use broker::effect::ReplicaEvent;
    use broker::types::{NodeId, TopicPartition};
    use std::collections::BTreeMap;

    #[test]
    fn values_and_nodes_are_written_as_the_report_names_them() {
        let history = History {
            node_names: BTreeMap::from([(NodeId(1), "broker-1".into()), (NodeId(4), "producer-1".into())]),
            events: Vec::new(),
        };
        let ok = Event {
            time_ms: 1_011,
            node: NodeId(4),
            op: Op::SendOk { value: (1 << 32) | 350, offset: Some(7), broker: NodeId(1) },
        };
        assert_eq!(
            event(&history, &ok).to_string(),
            r#"{"node":"producer-1","op":{"SendOk":{"broker":"broker-1","offset":7,"value":"p1-350"}},"time_ms":1011}"#
        );
        let isr = Event {
            time_ms: 14,
            node: NodeId(1),
            op: Op::Replica(ReplicaEvent::LeaderIsr {
                tp: TopicPartition::new("orders", 0),
                epoch: 2,
                isr: vec![NodeId(1), NodeId(9)],
            }),
        };
        let line = event(&history, &isr).to_string();
        assert!(line.contains(r#""isr":["broker-1","?"]"#), "{line}");
        assert!(line.contains(r#""epoch":2"#), "{line}");
    }
}
