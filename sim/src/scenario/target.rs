//! Fault targets: the grammar of one element of a fault's `target`.
//!
//! ```text
//! target    = node | "controller" | "random-broker" | "all-brokers" | role "(" topic "/" partition ")"
//! role      = "leader" | "follower" | "followers" | "replicas"
//! node      = "broker-" N | a producer's or consumer's name
//! ```
//!
//! Roles are resolved when the fault fires, not when the scenario is loaded: `leader(orders/0)`
//! crashes whichever broker leads `orders/0` at that moment. Parsing here is syntax only;
//! `validate` checks that the node, topic and partition exist.

use broker::types::TopicPartition;
use std::fmt;

/// One element of a fault's `target`, resolved by the harness when the fault fires.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A fixed node by name: `broker-2`, or a producer or consumer (`producer-1`, or its `name`).
    /// Never `controller`: that parses as [`Target::Controller`].
    Node(String),
    /// `leader(orders/0)`: the partition's leader.
    Leader(TopicPartition),
    /// `follower(orders/0)`: one follower, chosen at random when the fault fires.
    Follower(TopicPartition),
    /// `followers(orders/0)`: every follower.
    Followers(TopicPartition),
    /// `replicas(orders/0)`: every assigned replica.
    Replicas(TopicPartition),
    /// `controller`: the controller node.
    Controller,
    /// `random-broker`: one broker, chosen at random when the fault fires.
    RandomBroker,
    /// `all-brokers`: every broker.
    AllBrokers,
}

/// Names no producer or consumer may take: targets that mean something else, and the harness's
/// own nodes (`final-reader` reads the logs at the end, `nemesis` records faults and phases).
pub(crate) const RESERVED_NAMES: [&str; 5] =
    ["controller", "final-reader", "nemesis", "random-broker", "all-brokers"];

const ROLES: [&str; 4] = ["leader", "follower", "followers", "replicas"];

const GRAMMAR: &str = "expected a node name (`broker-1`, a producer or consumer name), \
    `controller`, `random-broker`, `all-brokers`, or a role of a partition: \
    `leader(TOPIC/PARTITION)`, `follower(..)`, `followers(..)`, `replicas(..)`";

impl Target {
    /// Parses one target. The error says what was expected. Targets are written without spaces,
    /// as node names in partition groups are: one grammar everywhere.
    pub fn parse(s: &str) -> Result<Target, String> {
        if s.trim().is_empty() {
            return Err(format!("empty target; {GRAMMAR}"));
        }
        if s.chars().any(char::is_whitespace) {
            let tight: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            return Err(match Target::parse(&tight) {
                Ok(_) => format!("`{s}` has spaces in it; expected a target written without any: `{tight}`"),
                Err(_) => format!("`{s}` has spaces in it; {GRAMMAR}"),
            });
        }
        match s {
            "controller" => return Ok(Target::Controller),
            "random-broker" => return Ok(Target::RandomBroker),
            "all-brokers" => return Ok(Target::AllBrokers),
            _ => {}
        }
        if let Some(open) = s.find('(') {
            return parse_role(s, open);
        }
        if is_name(s) {
            return Ok(Target::Node(s.to_string()));
        }
        Err(format!("`{s}` is not a target; {GRAMMAR}"))
    }

    /// The partition a role target names; `None` for nodes and cluster-wide targets.
    pub fn topic_partition(&self) -> Option<&TopicPartition> {
        match self {
            Target::Leader(tp) | Target::Follower(tp) | Target::Followers(tp) | Target::Replicas(tp) => {
                Some(tp)
            }
            Target::Node(_) | Target::Controller | Target::RandomBroker | Target::AllBrokers => None,
        }
    }
}

fn parse_role(s: &str, open: usize) -> Result<Target, String> {
    let role = &s[..open];
    let example = |role: &str| format!("`{role}(TOPIC/PARTITION)`, e.g. `{role}(orders/0)`");
    if !ROLES.contains(&role) {
        return Err(format!(
            "unknown role `{role}` in `{s}`; expected one of `leader`, `follower`, `followers`, `replicas`, \
             as in {}",
            example("leader")
        ));
    }
    let Some(inner) = s[open + 1..].strip_suffix(')') else {
        return Err(format!("`{s}` does not end with `)`; expected {}", example(role)));
    };
    let Some((topic, partition)) = inner.split_once('/') else {
        return Err(format!("`{s}` names no partition; expected {}", example(role)));
    };
    if !is_topic_name(topic) {
        return Err(format!(
            "`{topic}` in `{s}` is not a topic name (letters, digits, `.`, `_`, `-`); expected {}",
            example(role)
        ));
    }
    let partition: u32 = partition.parse().map_err(|_| {
        format!("`{partition}` in `{s}` is not a partition number; expected {}", example(role))
    })?;
    let tp = TopicPartition::new(topic, partition);
    Ok(match role {
        "leader" => Target::Leader(tp),
        "follower" => Target::Follower(tp),
        "followers" => Target::Followers(tp),
        _ => Target::Replicas(tp),
    })
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Node(name) => f.write_str(name),
            Target::Leader(tp) => write!(f, "leader({tp})"),
            Target::Follower(tp) => write!(f, "follower({tp})"),
            Target::Followers(tp) => write!(f, "followers({tp})"),
            Target::Replicas(tp) => write!(f, "replicas({tp})"),
            Target::Controller => f.write_str("controller"),
            Target::RandomBroker => f.write_str("random-broker"),
            Target::AllBrokers => f.write_str("all-brokers"),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        Target::parse(s)
    }
}

/// A node name: letters, digits, `.`, `_` and `-`, so that it can never be mistaken for a role.
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Kafka's legal topic names: letters, digits, `.`, `_` and `-`, at most 249 of them, not `.` or `..`.
pub(crate) fn is_topic_name(s: &str) -> bool {
    is_name(s) && s.len() <= 249 && s != "." && s != ".."
}

/// `broker-N` for some number N: the name of a broker, whether or not the cluster has it.
pub(crate) fn is_broker_name(s: &str) -> bool {
    s.strip_prefix("broker-").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: u32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    #[test]
    fn parses_every_form() {
        let cases = [
            ("broker-2", Target::Node("broker-2".into())),
            ("producer-1", Target::Node("producer-1".into())),
            ("my.app_1", Target::Node("my.app_1".into())),
            ("controller", Target::Controller),
            ("random-broker", Target::RandomBroker),
            ("all-brokers", Target::AllBrokers),
            ("leader(orders/0)", Target::Leader(tp("orders", 0))),
            ("follower(orders/1)", Target::Follower(tp("orders", 1))),
            ("followers(a.b-c/12)", Target::Followers(tp("a.b-c", 12))),
            ("replicas(orders/0)", Target::Replicas(tp("orders", 0))),
        ];
        for (text, want) in cases {
            assert_eq!(Target::parse(text), Ok(want.clone()), "{text}");
            assert_eq!(Target::parse(&want.to_string()), Ok(want), "{text} round-trips");
        }
    }

    #[test]
    fn errors_say_what_was_expected() {
        let cases = [
            ("", "empty target"),
            ("   ", "empty target"),
            ("broker 1", "has spaces in it"),
            (" leader( orders / 0 ) ", "expected a target written without any: `leader(orders/0)`"),
            ("leadr(orders/0)", "unknown role `leadr`"),
            ("leader(orders/0", "does not end with `)`"),
            ("leader(orders)", "names no partition"),
            ("leader(orders/x)", "`x` in `leader(orders/x)` is not a partition number"),
            ("leader(orders/-1)", "is not a partition number"),
            ("leader(/0)", "is not a topic name"),
            ("leader(a b/0)", "has spaces in it"),
            ("replicas(orders/0)x", "does not end with `)`"),
        ];
        for (text, fragment) in cases {
            let err = Target::parse(text).unwrap_err();
            assert!(err.contains(fragment), "{text:?}: {err}");
            assert!(err.contains("expected"), "{text:?}: {err}");
        }
    }

    #[test]
    fn broker_names() {
        assert!(is_broker_name("broker-1"));
        assert!(is_broker_name("broker-12"));
        assert!(!is_broker_name("broker-"));
        assert!(!is_broker_name("broker-x"));
        assert!(!is_broker_name("brokers-1"));
    }
}
