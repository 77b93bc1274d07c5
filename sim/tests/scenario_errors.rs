//! Bad scenario files get a clear error, never a panic: each test feeds one mistake and checks
//! the line, the key path and what the message says was expected.

use sim::scenario::{self, ScenarioError};

/// Six lines every test builds on; text appended with `with` starts at line 7.
const BASE: &str = r#"name = "t"
description = "d"

[[topics]]
name = "orders"
partitions = 3
"#;

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// Top-level keys go before the first table header; text given here starts at line 1.
fn top(extra: &str) -> String {
    format!("{extra}{BASE}")
}

fn err(source: &str) -> ScenarioError {
    match scenario::parse(source, "t.toml") {
        Ok(_) => panic!("expected an error for:\n{source}"),
        Err(e) => e,
    }
}

#[track_caller]
fn check(source: &str, line: Option<usize>, key: Option<&str>, fragment: &str) {
    let e = err(source);
    assert_eq!(e.file, "t.toml", "{e}");
    assert_eq!((e.line, e.key.as_deref()), (line, key), "{e}");
    assert!(e.message.contains(fragment), "message lacks {fragment:?}: {e}");
    let shown = e.to_string();
    let location = match line {
        Some(l) => format!("t.toml:{l}: "),
        None => "t.toml: ".to_string(),
    };
    assert!(shown.starts_with(&location), "{shown}");
    if let Some(key) = key {
        assert!(shown.contains(&format!("key `{key}`: ")), "{shown}");
    }
}

#[test]
fn base_is_valid() {
    scenario::parse(BASE, "t.toml").unwrap();
}

// ---- TOML syntax and serde: unknown keys, wrong types, missing keys ----

#[test]
fn syntax_error() {
    check(&with("[[producers]]\ntopic = \"orders\n"), Some(8), None, "invalid basic string");
    check(&with("[broker\n"), Some(7), None, "invalid table header");
    check(&with("partitions = 3\n"), Some(7), None, "duplicate key `partitions`");
}

#[test]
fn syntax_error_without_a_message_of_its_own() {
    check(&with("\r"), Some(7), None, "invalid TOML; expected a `key = value` line");
    check(&with("a = \"é\r\"\n"), Some(7), None, "invalid basic string (column 7)");
}

#[test]
fn unknown_key_lists_the_expected_keys() {
    check(
        &with("partitons = 3\n"),
        Some(7),
        Some("topics[0].partitons"),
        "unknown key `partitons`; expected one of `name`, `partitions`, `replication_factor`, \
         `min_insync_replicas`, `unclean_leader_election_enable`",
    );
    check(&with("[cluster]\nbrokrs = 3\n"), Some(8), Some("cluster.brokrs"), "expected `brokers`");
    check(
        &with("[[faults]]\nat_ms = 1\nfault = \"heal\"\ntargets = \"broker-1\"\n"),
        Some(10),
        Some("faults[0].targets"),
        "unknown key `targets`; expected one of `at_ms`, `fault`, `target`",
    );
}

#[test]
fn unknown_section() {
    check(&with("[clustr]\nbrokers = 3\n"), Some(7), Some("clustr"), "expected one of `name`, `description`");
}

#[test]
fn top_level_key_after_a_table_header_gets_a_hint() {
    check(
        &with("duration_ms = 5000\n"),
        Some(7),
        Some("topics[0].duration_ms"),
        "`duration_ms` is a top-level key, and every key after a table header belongs to that table",
    );
}

#[test]
fn unknown_checker_in_expect() {
    check(
        &with("[expect]\nlost-writes = \"never\"\n"),
        Some(8),
        Some("expect.lost-writes"),
        "unknown key `lost-writes`; expected one of `lost-write`, `duplicate`",
    );
}

#[test]
fn regression_names_a_known_checker_and_label() {
    scenario::parse(&with("[regression]\nseed = 3\nchecker = \"lost-write\"\nlabel = \"bug\"\n"), "t.toml")
        .unwrap();
    check(
        &with("[regression]\nseed = 3\nchecker = \"lost-writes\"\nlabel = \"bug\"\n"),
        Some(9),
        Some("regression.checker"),
        "unknown checker `lost-writes`; expected one of `lost-write`, `duplicate`",
    );
    check(
        &with("[regression]\nseed = 3\nchecker = \"lost-write\"\nlabel = \"fatal\"\n"),
        Some(10),
        Some("regression.label"),
        "unknown value `fatal`; expected one of `bug`, `allowed`, `fixed`",
    );
    check(
        &with("[regression]\nchecker = \"lost-write\"\nlabel = \"bug\"\n"),
        Some(7),
        Some("regression.seed"),
        "missing required key `seed`",
    );
}

#[test]
fn wrong_type() {
    check(
        &with("replication_factor = \"three\"\n"),
        Some(7),
        Some("topics[0].replication_factor"),
        "expected an integer from 0 to 4294967295, found string \"three\"",
    );
    check(&top("duration_ms = 1.5\n"), Some(1), Some("duration_ms"), "expected a non-negative integer");
    check(
        "name = \"t\"\ndescription = \"d\"\ntopics = 3\n",
        Some(3),
        Some("topics"),
        "`topics` is an integer; expected tables, each written `[[topics]]`",
    );
    check(
        &with("[broker]\nunclean_leader_election_enable = \"yes\"\n"),
        Some(8),
        Some("broker.unclean_leader_election_enable"),
        "expected a boolean",
    );
    check(
        &with("[[producers]]\ntopic = \"orders\"\nmessages_per_sec = \"fast\"\n"),
        Some(9),
        Some("producers[0].messages_per_sec"),
        "expected a number",
    );
}

#[test]
fn integer_out_of_range() {
    check(
        &with("[cluster]\nbrokers = -1\n"),
        Some(8),
        Some("cluster.brokers"),
        "integer `-1` is out of range",
    );
    check(
        &with("[cluster]\nbrokers = 4294967296\n"),
        Some(8),
        Some("cluster.brokers"),
        "expected an integer from 0 to 4294967295",
    );
}

#[test]
fn unknown_value_of_an_enum() {
    check(
        &with("[[faults]]\nat_ms = 1\nfault = \"crsh\"\n"),
        Some(9),
        Some("faults[0].fault"),
        "unknown value `crsh`; expected one of `partition`, `heal`, `crash`",
    );
    check(
        &with("[broker]\nflush = \"sometimes\"\n"),
        Some(8),
        Some("broker.flush"),
        "expected one of `never`, `interval`, `every-batch`",
    );
    check(
        &with("[expect]\nduplicate = \"sometimes\"\n"),
        Some(8),
        Some("expect.duplicate"),
        "expected one of `never`, `observe`, `expected`",
    );
    check(
        &with("[[producers]]\ntopic = \"orders\"\npartitioner = \"random\"\n"),
        Some(9),
        Some("producers[0].partitioner"),
        "unknown value `random`; expected `murmur2` or `crc32`",
    );
}

#[test]
fn bad_acks() {
    let producer = |acks: &str| with(&format!("[[producers]]\ntopic = \"orders\"\nacks = {acks}\n"));
    check(&producer("2"), Some(9), Some("producers[0].acks"), "invalid acks 2; expected 0, 1 or \"all\"");
    check(&producer("\"leader\""), Some(9), Some("producers[0].acks"), "invalid acks \"leader\"");
    check(&producer("true"), Some(9), Some("producers[0].acks"), "expected 0, 1 or \"all\", found boolean");
}

#[test]
fn target_of_the_wrong_type() {
    let fault =
        |target: &str| with(&format!("[[faults]]\nat_ms = 1\nfault = \"crash\"\ntarget = {target}\n"));
    check(&fault("5"), Some(10), Some("faults[0].target"), "expected a target such as \"broker-1\"");
    check(&fault("[\"broker-1\", 5]"), Some(10), Some("faults[0].target[1]"), "expected a string");
}

#[test]
fn missing_top_level_keys() {
    check(&BASE.replace("name = \"t\"\n", ""), None, Some("name"), "missing required key `name`");
    check(
        &BASE.replace("description = \"d\"\n", ""),
        None,
        Some("description"),
        "missing required key `description`",
    );
    check("name = \"t\"\ndescription = \"d\"\n", None, Some("topics"), "missing required key `topics`");
}

#[test]
fn missing_keys_of_tables() {
    check(
        &with("[[producers]]\nacks = 1\n"),
        Some(7),
        Some("producers[0].topic"),
        "missing required key `topic`",
    );
    check(
        &with("[[faults]]\nfault = \"crash\"\ntarget = \"broker-1\"\n"),
        Some(7),
        Some("faults[0].at_ms"),
        "missing required key `at_ms`",
    );
    check(&with("[[faults]]\nat_ms = 5\n"), Some(7), Some("faults[0].fault"), "missing required key `fault`");
    check(
        &with("[[topics]]\npartitions = 2\n"),
        Some(7),
        Some("topics[1].name"),
        "missing required key `name`",
    );
    check(
        &with("[nemesis]\nstart_ms = 1\n"),
        Some(7),
        Some("nemesis.faults"),
        "missing required key `faults`",
    );
    check(
        &with("producers = [{ acks = 1 }]\n"),
        Some(7),
        Some("topics[0].producers"),
        "unknown key `producers`",
    );
    check(
        &top("producers = [{ acks = 1 }]\n"),
        Some(1),
        Some("producers[0].topic"),
        "missing required key `topic`",
    );
}

// ---- semantic validation ----

#[test]
fn empty_name_or_description() {
    check(&BASE.replace("name = \"t\"", "name = \" \""), Some(1), Some("name"), "name is empty");
    check(
        &BASE.replace("description = \"d\"", "description = \"\""),
        Some(2),
        Some("description"),
        "expected a sentence",
    );
}

#[test]
fn control_characters_in_name_or_description() {
    let name = |n: &str| BASE.replace("name = \"t\"", &format!("name = \"{n}\""));
    check(
        &name("red\\u001b[31m"),
        Some(1),
        Some("name"),
        "control character U+001B; expected printable text",
    );
    check(&name("two\\nlines"), Some(1), Some("name"), "\"two\\nlines\" holds the control character U+000A");
    check(&name("del\\u007f"), Some(1), Some("name"), "U+007F");
    let description = |d: &str| BASE.replace("description = \"d\"", &format!("description = \"{d}\""));
    check(
        &description("bell\\u0007"),
        Some(2),
        Some("description"),
        "U+0007; expected printable text (lines",
    );
    // Lines and tabs are a description's own, and any printable character is fine.
    scenario::parse(&description("one\\n\\ttwo\\r\\n"), "t.toml").unwrap();
    scenario::parse(&name("заказы → ✓"), "t.toml").unwrap();
}

#[test]
fn zero_durations() {
    check(&top("duration_ms = 0\n"), Some(1), Some("duration_ms"), "duration_ms is 0; expected at least 1");
    check(&top("liveness_timeout_ms = 0\n"), Some(1), Some("liveness_timeout_ms"), "expected at least 1");
    check(
        &with("[controller]\nbroker_session_timeout_ms = 0\n"),
        Some(8),
        Some("controller.broker_session_timeout_ms"),
        "expected at least 1",
    );
    check(
        &with("[broker]\nbroker_heartbeat_interval_ms = 0\n"),
        Some(8),
        Some("broker.broker_heartbeat_interval_ms"),
        "broker_heartbeat_interval_ms is 0; expected at least 1",
    );
}

#[test]
fn times_too_long() {
    check(
        &top("duration_ms = 9223372036854775807\n"),
        Some(1),
        Some("duration_ms"),
        "duration_ms 9223372036854775807 is too long; expected at most 10000000000",
    );
    check(
        &with("[[faults]]\nat_ms = 1\nfault = \"crash\"\ntarget = \"broker-1\"\nfor_ms = 10000000001\n"),
        Some(11),
        Some("faults[0].for_ms"),
        "for_ms 10000000001 is too long",
    );
    check(
        &with("[nemesis]\nfaults = [\"crash\"]\ngap_max_ms = 99999999999\n"),
        Some(9),
        Some("nemesis.gap_max_ms"),
        "is too long",
    );
}

#[test]
fn brokers_zero_or_too_many() {
    check(
        &with("[cluster]\nbrokers = 0\n"),
        Some(8),
        Some("cluster.brokers"),
        "brokers is 0; expected at least 1",
    );
    check(&with("[cluster]\nbrokers = 1000\n"), Some(8), Some("cluster.brokers"), "expected at most 999");
}

#[test]
fn no_topics() {
    check(
        "name = \"t\"\ndescription = \"d\"\ntopics = []\n",
        Some(3),
        Some("topics"),
        "no topics; expected at least one",
    );
}

#[test]
fn partitions_zero_or_too_many() {
    check(
        &with("[[topics]]\nname = \"x\"\npartitions = 0\n"),
        Some(9),
        Some("topics[1].partitions"),
        "partitions is 0",
    );
    check(
        &BASE.replace("partitions = 3", "partitions = 10001"),
        Some(6),
        Some("topics[0].partitions"),
        "partitions 10001 is too many; expected at most 10000",
    );
}

#[test]
fn replication_factor_larger_than_brokers() {
    check(
        &with("replication_factor = 4\n"),
        Some(7),
        Some("topics[0].replication_factor"),
        "replication_factor 4 is larger than the 3 brokers; expected at most 3",
    );
    // The default replication factor, 3, against one broker: the topic's header line.
    check(
        &top("cluster.brokers = 1\n"),
        Some(5),
        Some("topics[0].replication_factor"),
        "replication_factor 3 is larger than the 1 broker; expected at most 1",
    );
    check(
        &with("replication_factor = 0\n"),
        Some(7),
        Some("topics[0].replication_factor"),
        "expected at least 1",
    );
}

#[test]
fn min_insync_replicas_out_of_range() {
    check(
        &with("replication_factor = 2\nmin_insync_replicas = 3\n"),
        Some(8),
        Some("topics[0].min_insync_replicas"),
        "min_insync_replicas 3 is larger than replication_factor 2; expected at most 2",
    );
    check(
        &with("min_insync_replicas = 0\n"),
        Some(7),
        Some("topics[0].min_insync_replicas"),
        "expected at least 1",
    );
    check(
        &with("replication_factor = 2\n[broker]\nmin_insync_replicas = 3\n"),
        Some(9),
        Some("broker.min_insync_replicas"),
        "min_insync_replicas 3 is larger than replication_factor 2 of topic `orders`, which inherits it",
    );
    check(
        &with("[broker]\nmin_insync_replicas = 0\n"),
        Some(8),
        Some("broker.min_insync_replicas"),
        "min_insync_replicas is 0",
    );
}

#[test]
fn duplicate_topic() {
    check(
        &with("[[topics]]\nname = \"orders\"\n"),
        Some(8),
        Some("topics[1].name"),
        "topic `orders` is already defined by topics[0]",
    );
}

#[test]
fn bad_topic_names() {
    check(
        &BASE.replace("\"orders\"", "\"my orders\""),
        Some(5),
        Some("topics[0].name"),
        "is not a topic name",
    );
    check(&BASE.replace("\"orders\"", "\"a/b\""), Some(5), Some("topics[0].name"), "letters, digits");
    check(
        &BASE.replace("\"orders\"", "\"__internal\""),
        Some(5),
        Some("topics[0].name"),
        "reserved for internal topics",
    );
}

#[test]
fn unknown_topic() {
    check(
        &with("[[producers]]\ntopic = \"ordrs\"\n"),
        Some(8),
        Some("producers[0].topic"),
        "unknown topic `ordrs`; expected one of `orders`",
    );
    check(
        &with("[[consumers]]\ntopics = [\"orders\", \"payments\"]\n"),
        Some(8),
        Some("consumers[0].topics[1]"),
        "unknown topic `payments`",
    );
    check(
        &with("[[consumers]]\ntopics = [\"orders\", \"orders\"]\n"),
        Some(8),
        Some("consumers[0].topics[1]"),
        "listed twice",
    );
}

#[test]
fn duplicate_node_names() {
    check(
        &with("[[producers]]\nname = \"app\"\ntopic = \"orders\"\n[[consumers]]\nname = \"app\"\n"),
        Some(11),
        Some("consumers[0].name"),
        "node name `app` of consumers[0].name is already used by producers[0].name",
    );
    // An explicit name that another producer has by default.
    check(
        &with(
            "[[producers]]\ntopic = \"orders\"\n[[producers]]\nname = \"producer-1\"\ntopic = \"orders\"\n",
        ),
        Some(10),
        Some("producers[1].name"),
        "already used by producers[0] (its default name)",
    );
    // A default name that an earlier explicit name took: the later one is blamed.
    check(
        &with(
            "[[producers]]\nname = \"producer-2\"\ntopic = \"orders\"\n[[producers]]\ntopic = \"orders\"\n",
        ),
        Some(10),
        Some("producers[1]"),
        "expected a `name` for one of them",
    );
}

#[test]
fn reserved_node_names() {
    for name in ["controller", "final-reader", "nemesis", "random-broker", "all-brokers"] {
        check(
            &with(&format!("[[producers]]\nname = \"{name}\"\ntopic = \"orders\"\n")),
            Some(8),
            Some("producers[0].name"),
            "is reserved for the harness",
        );
    }
    check(
        &with("[[consumers]]\nname = \"broker-7\"\n"),
        Some(8),
        Some("consumers[0].name"),
        "`broker-7` is reserved for brokers",
    );
    check(
        &with("[[consumers]]\nname = \"my reader\"\n"),
        Some(8),
        Some("consumers[0].name"),
        "is not a node name",
    );
}

#[test]
fn too_many_clients() {
    let many = "[[consumers]]\n".repeat(1001);
    check(&with(&many), Some(7), Some("consumers"), "1001 consumers are too many; expected at most 1000");
}

#[test]
fn bad_message_rate() {
    for rate in ["0", "-5.0", "nan", "inf"] {
        check(
            &with(&format!("[[producers]]\ntopic = \"orders\"\nmessages_per_sec = {rate}\n")),
            Some(9),
            Some("producers[0].messages_per_sec"),
            "is not a positive rate; expected a number greater than 0",
        );
    }
}

#[test]
fn producer_settings() {
    let producer = |extra: &str| with(&format!("[[producers]]\ntopic = \"orders\"\n{extra}\n"));
    check(
        &producer("start_ms = 70000"),
        Some(9),
        Some("producers[0].start_ms"),
        "start_ms 70000 is after the end of the fault phase (duration_ms 60000)",
    );
    check(
        &producer("delivery_timeout_ms = 1000"),
        Some(9),
        Some("producers[0].delivery_timeout_ms"),
        "delivery_timeout_ms 1000 is shorter than request_timeout_ms 30000",
    );
    check(
        &producer("max_in_flight_requests_per_connection = 0"),
        Some(9),
        Some("producers[0].max_in_flight_requests_per_connection"),
        "expected at least 1",
    );
    check(
        &producer("request_timeout_ms = 0"),
        Some(9),
        Some("producers[0].request_timeout_ms"),
        "expected at least 1",
    );
    check(
        &producer("socket_connection_setup_timeout_ms = 0"),
        Some(9),
        Some("producers[0].socket_connection_setup_timeout_ms"),
        "socket_connection_setup_timeout_ms is 0; expected at least 1",
    );
    check(
        &producer("socket_connection_setup_timeout_max_ms = 0"),
        Some(9),
        Some("producers[0].socket_connection_setup_timeout_max_ms"),
        "expected at least 1",
    );
    check(
        &producer("max_stall_ms = 0"),
        Some(9),
        Some("producers[0].max_stall_ms"),
        "max_stall_ms is 0; expected at least 1",
    );
    let consumer = with("[[consumers]]\nmax_stall_ms = 0\n");
    check(&consumer, Some(8), Some("consumers[0].max_stall_ms"), "max_stall_ms is 0; expected at least 1");
}

#[test]
fn latency_range_reversed() {
    check(
        &with("[network]\nlatency_min_ms = 10\nlatency_max_ms = 5\n"),
        Some(8),
        Some("network.latency_min_ms"),
        "latency_min_ms 10 is larger than latency_max_ms 5; expected latency_min_ms <= latency_max_ms",
    );
    check(
        &with("[network]\nlatency_min_ms = 10\n"),
        Some(8),
        Some("network.latency_min_ms"),
        "larger than latency_max_ms 5",
    );
    check(
        &with("[[faults]]\nat_ms = 1\nfault = \"latency\"\nlatency_min_ms = 9\nlatency_max_ms = 3\n"),
        Some(10),
        Some("faults[0].latency_min_ms"),
        "latency_min_ms 9 is larger than latency_max_ms 3",
    );
}

// ---- settings Kafka rejects, and settings under which nothing can happen ----

/// `session-lt-heartbeat.toml`: a 100 ms session with the default 2 s heartbeat fenced every
/// broker of a fault-free run, which then failed `liveness` labelled bug.
#[test]
fn the_broker_session_must_outlast_two_heartbeats() {
    check(
        &with("[controller]\nbroker_session_timeout_ms = 100\n"),
        Some(8),
        Some("controller.broker_session_timeout_ms"),
        "broker_session_timeout_ms 100 is shorter than twice broker.broker_heartbeat_interval_ms 2000; \
         expected at least 4000 (Kafka: broker.heartbeat.interval.ms must be at most half of \
         broker.session.timeout.ms",
    );
    // Set away from its default, the heartbeat is the key to fix.
    check(
        &with("[broker]\nbroker_heartbeat_interval_ms = 5000\n"),
        Some(8),
        Some("broker.broker_heartbeat_interval_ms"),
        "broker_heartbeat_interval_ms 5000 is more than half of controller.broker_session_timeout_ms 9000; \
         expected at most 4500",
    );
    // Exactly half is Kafka's bound, and allowed.
    scenario::parse(&with("[controller]\nbroker_session_timeout_ms = 4000\n"), "t.toml").unwrap();
}

/// `socket-timeout-below-fetch-wait.toml`: Kafka refuses to start a broker whose follower would
/// time out every fetch the leader holds.
#[test]
fn replica_socket_timeout_and_lag_time_bound_the_fetch_wait() {
    check(
        &with("[broker]\nreplica_socket_timeout_ms = 100\n"),
        Some(8),
        Some("broker.replica_socket_timeout_ms"),
        "replica_socket_timeout_ms 100 is shorter than replica_fetch_wait_max_ms 500; expected at least 500 \
         (Kafka requires replica.socket.timeout.ms >= replica.fetch.wait.max.ms",
    );
    check(
        &with("[broker]\nreplica_fetch_wait_max_ms = 40000\n"),
        Some(8),
        Some("broker.replica_fetch_wait_max_ms"),
        "replica_fetch_wait_max_ms 40000 is longer than replica_socket_timeout_ms 30000; expected at most 30000",
    );
    check(
        &with("[broker]\nreplica_lag_time_max_ms = 400\n"),
        Some(8),
        Some("broker.replica_lag_time_max_ms"),
        "replica_lag_time_max_ms 400 is shorter than replica_fetch_wait_max_ms 500; expected at least 500 \
         (Kafka requires replica.fetch.wait.max.ms <= replica.lag.time.max.ms",
    );
    check(
        &with("[broker]\nreplica_socket_timeout_ms = 60000\nreplica_fetch_wait_max_ms = 40000\n"),
        Some(9),
        Some("broker.replica_fetch_wait_max_ms"),
        "replica_fetch_wait_max_ms 40000 is longer than replica_lag_time_max_ms 30000; expected at most 30000",
    );
    scenario::parse(
        &with("[broker]\nreplica_socket_timeout_ms = 500\nreplica_lag_time_max_ms = 500\n"),
        "t.toml",
    )
    .unwrap();
}

/// A connection carries nothing until its handshake, one round trip, completes: a setup timeout
/// no longer than that gives every attempt up before the broker can answer.
#[test]
fn connection_setup_timeouts_must_outlast_a_handshake() {
    let producer = |extra: &str| with(&format!("[[producers]]\ntopic = \"orders\"\n{extra}\n"));
    check(
        &producer("socket_connection_setup_timeout_max_ms = 1"),
        Some(9),
        Some("producers[0].socket_connection_setup_timeout_max_ms"),
        "socket_connection_setup_timeout_max_ms 1 is not longer than a connection's handshake, one round \
         trip of up to 10 ms (twice network.latency_max_ms 5); expected at least 11: with the ceiling that \
         short, no connection could ever complete",
    );
    check(
        &producer("socket_connection_setup_timeout_ms = 10"),
        Some(9),
        Some("producers[0].socket_connection_setup_timeout_ms"),
        "expected at least 11: attempts would give up before the broker can answer",
    );
    check(
        &format!("{}[network]\nlatency_max_ms = 300\n", producer("socket_connection_setup_timeout_ms = 500")),
        Some(9),
        Some("producers[0].socket_connection_setup_timeout_ms"),
        "up to 600 ms (twice network.latency_max_ms 300); expected at least 601",
    );
    scenario::parse(
        &producer("socket_connection_setup_timeout_ms = 11\nsocket_connection_setup_timeout_max_ms = 11"),
        "t.toml",
    )
    .unwrap();
    // Consumers, and the final reader, connect with Kafka's default 10 s setup timeout.
    check(
        &with("[network]\nlatency_max_ms = 5000\n"),
        Some(8),
        Some("network.latency_max_ms"),
        "latency_max_ms 5000 makes a connection's handshake, one round trip, take up to 10000 ms, no less \
         than the 10000 ms socket.connection.setup.timeout.ms consumers and the final reader use (Kafka's \
         default); expected at most 4999",
    );
    scenario::parse(&with("[network]\nlatency_max_ms = 4999\n"), "t.toml").unwrap();
}

/// `zero-lat-fetch0.toml`: at 0 ms a fetch that waits 0 ms is answered at the instant it is
/// sent, again and again, and the run ends as a step-budget timeout.
#[test]
fn a_latency_of_zero_is_refused() {
    let why = "latency_min_ms is 0; expected at least 1 (the simulated clock counts whole milliseconds";
    check(
        &with("[network]\nlatency_min_ms = 0\nlatency_max_ms = 0\n"),
        Some(8),
        Some("network.latency_min_ms"),
        why,
    );
    check(&with("[network]\nlatency_min_ms = 0\n"), Some(8), Some("network.latency_min_ms"), why);
    check(
        &with("[[faults]]\nat_ms = 1\nfault = \"latency\"\nlatency_min_ms = 0\nlatency_max_ms = 3\n"),
        Some(10),
        Some("faults[0].latency_min_ms"),
        why,
    );
}

#[test]
fn packet_loss_rates_outside_zero_to_below_one() {
    check(
        &with("[network]\npacket_loss_rate = 1.5\n"),
        Some(8),
        Some("network.packet_loss_rate"),
        "packet_loss_rate 1.5 is not a packet loss probability below 1; expected a number from 0 up to, \
         but not including, 1",
    );
    check(
        &with("[[faults]]\nat_ms = 1\nfault = \"packet-loss\"\nrate = -0.1\n"),
        Some(10),
        Some("faults[0].rate"),
        "rate -0.1 is not a packet loss probability below 1",
    );
    check(
        &with("[network]\npacket_loss_rate = nan\n"),
        Some(8),
        Some("network.packet_loss_rate"),
        "not a packet loss probability below 1",
    );
}

/// At a loss rate of 1 every transmission is lost, so 1 is refused wherever a loss rate is given.
#[test]
fn a_packet_loss_rate_of_one_is_refused_everywhere() {
    let why = "rate 1 is not a packet loss probability below 1; expected a number from 0 up to, but not \
               including, 1 (at 1 every transmission would be lost)";
    check(&with("[network]\npacket_loss_rate = 1.0\n"), Some(8), Some("network.packet_loss_rate"), why);
    check(
        &with("[[faults]]\nat_ms = 1\nfault = \"packet-loss\"\nrate = 1\n"),
        Some(10),
        Some("faults[0].rate"),
        why,
    );
    check(
        &with("[nemesis]\nfaults = [\"packet-loss\"]\npacket_loss_rate = 1.0\n"),
        Some(9),
        Some("nemesis.packet_loss_rate"),
        why,
    );
    let just_below = with("[network]\npacket_loss_rate = 0.999\n");
    scenario::parse(&just_below, "t.toml").expect("a loss rate just below 1 is valid");
}

/// Ten million replicas exhaust memory before the run starts: the topics together hold at
/// most a hundred thousand.
#[test]
fn too_many_replicas_in_all() {
    let big =
        "[cluster]\nbrokers = 999\n[[topics]]\nname = \"x\"\npartitions = 10000\nreplication_factor = 999\n";
    check(
        &with(big),
        Some(9),
        Some("topics[1]"),
        "the topics up to this one have 9990009 replicas (partitions × replication_factor, summed); \
         expected at most 100000 in all",
    );
    let many = (0..11)
        .map(|i| format!("[[topics]]\nname = \"t{i}\"\npartitions = 10000\nreplication_factor = 1\n"))
        .collect::<String>();
    check(&with(&many), Some(43), Some("topics[10]"), "have 100009 replicas");
    let at_the_bound = with(
        "[cluster]\nbrokers = 10\n[[topics]]\nname = \"x\"\npartitions = 9999\nreplication_factor = 10\n",
    );
    scenario::parse(&at_the_bound, "t.toml").expect("100,000 replicas in all are allowed");
}

/// A send's value numbers it in 32 bits: more messages than that would reuse values.
#[test]
fn too_many_messages() {
    check(
        &with("[[producers]]\ntopic = \"orders\"\nmessages = 4294967296\n"),
        Some(9),
        Some("producers[0].messages"),
        "messages 4294967296 is too many; expected at most 4294967295",
    );
    let most = with("[[producers]]\ntopic = \"orders\"\nmessages = 4294967295\n");
    scenario::parse(&most, "t.toml").expect("2^32 - 1 messages are allowed");
}

#[test]
fn fault_after_the_end() {
    check(
        &with("[[faults]]\nat_ms = 60001\nfault = \"heal\"\n"),
        Some(8),
        Some("faults[0].at_ms"),
        "at_ms 60001 is after the end of the fault phase (duration_ms 60000); expected at most 60000",
    );
}

fn crash(target: &str) -> String {
    with(&format!("[[faults]]\nat_ms = 1\nfault = \"crash\"\ntarget = {target}\n"))
}

#[test]
fn target_that_does_not_parse() {
    check(&crash("\"leadr(orders/0)\""), Some(10), Some("faults[0].target"), "unknown role `leadr`");
    check(
        &crash("\"leader(orders)\""),
        Some(10),
        Some("faults[0].target"),
        "expected `leader(TOPIC/PARTITION)`",
    );
    check(&crash("[\"broker-1\", \"\"]"), Some(10), Some("faults[0].target[1]"), "empty target");
    check(&crash("[]"), Some(10), Some("faults[0].target"), "the target list is empty");
}

#[test]
fn target_names_an_unknown_node() {
    check(
        &crash("\"broker-4\""),
        Some(10),
        Some("faults[0].target"),
        "unknown node `broker-4`; expected one of `broker-1`, `broker-2`, `broker-3`, `controller`, `consumer-1`",
    );
    check(
        &crash("\"final-reader\""),
        Some(10),
        Some("faults[0].target"),
        "the final reader runs after the fault phase",
    );
}

#[test]
fn target_names_an_unknown_topic_or_partition() {
    check(&crash("\"leader(ordrs/0)\""), Some(10), Some("faults[0].target"), "unknown topic `ordrs`");
    check(
        &crash("[\"broker-1\", \"replicas(orders/3)\"]"),
        Some(10),
        Some("faults[0].target[1]"),
        "partition 3 of topic `orders` does not exist; expected 0 to 2 (the topic has 3 partitions)",
    );
}

fn fault(kind: &str, keys: &str) -> String {
    with(&format!("[[faults]]\nat_ms = 1\nfault = \"{kind}\"\n{keys}\n"))
}

#[test]
fn fault_missing_a_key_its_kind_needs() {
    check(
        &fault("crash", ""),
        Some(7),
        Some("faults[0].target"),
        "a `crash` fault needs `target`: the nodes to crash, e.g. target = \"broker-1\"",
    );
    check(&fault("restart", ""), Some(7), Some("faults[0].target"), "a `restart` fault needs `target`");
    check(&fault("packet-loss", ""), Some(7), Some("faults[0].rate"), "a `packet-loss` fault needs `rate`");
    check(
        &fault("latency", "latency_min_ms = 5"),
        Some(7),
        Some("faults[0].latency_max_ms"),
        "a `latency` fault needs `latency_max_ms`",
    );
}

#[test]
fn fault_with_a_key_its_kind_does_not_take() {
    check(
        &fault("heal", "target = \"broker-1\""),
        Some(10),
        Some("faults[0].target"),
        "`target` does not apply to a `heal` fault; a `heal` fault takes no other keys",
    );
    check(
        &fault("crash", "target = \"broker-1\"\nrate = 0.5"),
        Some(11),
        Some("faults[0].rate"),
        "`rate` does not apply to a `crash` fault; a `crash` fault takes `target`, `for_ms`",
    );
    check(
        &fault("crash", "target = \"broker-1\"\none_way = true"),
        Some(11),
        Some("faults[0].one_way"),
        "`one_way` does not apply to a `crash` fault",
    );
    check(
        &fault("packet-loss", "rate = 0.5\ntarget = \"broker-1\""),
        Some(11),
        Some("faults[0].target"),
        "a `packet-loss` fault takes `rate`, `for_ms`",
    );
}

#[test]
fn for_ms_on_a_fault_that_cannot_be_undone() {
    for kind in ["heal", "restart", "resume"] {
        let target = if kind == "heal" { "" } else { "target = \"broker-1\"\n" };
        check(
            &fault(kind, &format!("{target}for_ms = 100")),
            Some(if kind == "heal" { 10 } else { 11 }),
            Some("faults[0].for_ms"),
            &format!("`for_ms` does not apply to a `{kind}` fault (a `{kind}` undoes another fault and cannot itself be undone)"),
        );
    }
    check(
        &fault("pause", "target = \"broker-1\"\nfor_ms = 0"),
        Some(11),
        Some("faults[0].for_ms"),
        "for_ms is 0",
    );
}

#[test]
fn partition_needs_exactly_one_of_target_and_groups() {
    check(&fault("partition", ""), Some(7), Some("faults[0]"), "a `partition` fault needs `target`");
    check(
        &fault("partition", "target = \"broker-1\"\ngroups = [[\"broker-1\"], [\"broker-2\"]]"),
        Some(11),
        Some("faults[0].groups"),
        "takes `target` or `groups`, not both",
    );
}

#[test]
fn partition_groups_must_name_known_nodes_once() {
    let groups = |g: &str| fault("partition", &format!("groups = {g}"));
    check(
        &groups("[[\"broker-1\"], [\"broker-9\"]]"),
        Some(10),
        Some("faults[0].groups[1][0]"),
        "unknown node `broker-9`",
    );
    check(
        &groups("[[\"broker-1\", \"broker-2\"], [\"broker-3\", \"broker-2\"]]"),
        Some(10),
        Some("faults[0].groups[1][1]"),
        "node `broker-2` is already in groups[0]",
    );
    check(
        &groups("[[\"broker-1\", \"broker-1\"], [\"broker-2\"]]"),
        Some(10),
        Some("faults[0].groups[0][1]"),
        "listed twice in this group",
    );
    check(&groups("[[\"broker-1\"]]"), Some(10), Some("faults[0].groups"), "expected at least two groups");
    check(&groups("[[\"broker-1\"], []]"), Some(10), Some("faults[0].groups[1]"), "empty group");
    check(
        &groups("[[\"leader(orders/0)\"], [\"broker-2\"]]"),
        Some(10),
        Some("faults[0].groups[0][0]"),
        "is not a node name; groups list fixed nodes",
    );
}

#[test]
fn nemesis_errors() {
    let nemesis = |keys: &str| with(&format!("[nemesis]\n{keys}\n"));
    check(&nemesis("faults = []"), Some(8), Some("nemesis.faults"), "no fault kinds to draw from");
    check(
        &nemesis("faults = [\"crash\", \"heal\"]"),
        Some(8),
        Some("nemesis.faults[1]"),
        "the nemesis cannot draw `heal`",
    );
    check(&nemesis("faults = [\"restart\"]"), Some(8), Some("nemesis.faults[0]"), "cannot draw `restart`");
    check(
        &nemesis("faults = [\"crash\"]\ngap_min_ms = 5000\ngap_max_ms = 10"),
        Some(9),
        Some("nemesis.gap_min_ms"),
        "gap_min_ms 5000 is larger than gap_max_ms 10",
    );
    check(
        &nemesis("faults = [\"crash\"]\nduration_min_ms = 20000"),
        Some(9),
        Some("nemesis.duration_min_ms"),
        "duration_min_ms 20000 is larger than duration_max_ms 15000",
    );
    check(
        &nemesis("faults = [\"crash\"]\ntargets = [\"random-broker\", \"leader(orders\"]"),
        Some(9),
        Some("nemesis.targets[1]"),
        "does not end with `)`",
    );
    check(
        &nemesis("faults = [\"crash\"]\ntargets = []"),
        Some(9),
        Some("nemesis.targets"),
        "no targets to draw from",
    );
    check(
        &nemesis("faults = [\"crash\"]\nstart_ms = 99999"),
        Some(9),
        Some("nemesis.start_ms"),
        "after the end of the fault phase",
    );
    check(
        &nemesis("faults = [\"packet-loss\"]\npacket_loss_rate = 2"),
        Some(9),
        Some("nemesis.packet_loss_rate"),
        "not a packet loss probability below 1",
    );
}

#[test]
fn first_problem_in_file_order_is_reported() {
    let source = with(
        "replication_factor = 4\n[[producers]]\ntopic = \"nope\"\n[[faults]]\nat_ms = 1\nfault = \"crash\"\n",
    );
    check(&source, Some(7), Some("topics[0].replication_factor"), "larger than the 3 brokers");
}

// ---- one grammar: tables are tables, targets have no spaces ----

/// `../shared/cases/table-as-array.toml`: serde would read `cluster = [3]` by position, as
/// `brokers = 3`.
#[test]
fn a_table_written_as_an_array_is_rejected() {
    check(&top("cluster = [3]\n"), Some(1), Some("cluster"), "expected a table, `[cluster]`");
    check(&top("broker = 5\n"), Some(1), Some("broker"), "`broker` is an integer; expected a table");
    check(&top("network = [1, 5]\n"), Some(1), Some("network"), "expected a table");
    check(
        "name = \"t\"\ndescription = \"d\"\ntopics = [[\"orders\"]]\n",
        Some(3),
        Some("topics[0]"),
        "`topics` holds an array; expected tables, each written `[[topics]]`",
    );
    check(&top("faults = 3\n"), Some(1), Some("faults"), "`faults` is an integer; expected tables");
}

/// `../shared/cases/target-with-spaces.toml`: node names in partition groups were strict about
/// spaces while role targets trimmed them.
#[test]
fn a_target_with_spaces_is_rejected_like_a_group_name_with_spaces() {
    let fault = "[[faults]]\nat_ms = 10\nfault = \"crash\"\n";
    check(
        &with(&format!("{fault}target = \"leader( orders / 0 )\"\n")),
        Some(10),
        Some("faults[0].target"),
        "has spaces in it; expected a target written without any: `leader(orders/0)`",
    );
    check(
        &with(&format!("{fault}target = \" broker-1\"\n")),
        Some(10),
        Some("faults[0].target"),
        "has spaces",
    );
    check(
        &with(&format!("{fault}target = [\"broker-1 \"]\n")),
        Some(10),
        Some("faults[0].target[0]"),
        "has spaces",
    );
}
