use std::sync::Arc;

#[test]
fn one_run() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/acks-all-leader-crashes.toml")).unwrap();
    let scenario: sim::scenario::Scenario = toml::from_str(&src).unwrap();
    let scenario = Arc::new(scenario);
    let t = std::time::Instant::now();
    let out = sim::run::run(scenario.clone(), 1).unwrap();
    eprintln!("wall {:?} sim {} ms net {:?} gap {:?} events {}", t.elapsed(), out.simulated_ms, out.net, out.liveness_gap, out.history.events.len());
    let layout = sim::layout::Layout::of(&scenario);
    let input = sim::check::CheckInput { scenario: &scenario, layout: &layout, history: &out.history };
    let c = sim::check::counts(&input);
    eprintln!("counts sent {} acked {} failed {} info {} lost {}", c.sent, c.acked, c.failed, c.indeterminate, c.lost);
    for (name, vs) in sim::check::check_all(&input) {
        for v in vs.iter().take(3) { eprintln!("{name}: {v}"); }
    }
    for e in out.history.events.iter().filter(|e| matches!(e.op, sim::history::Op::Fault{..} | sim::history::Op::Phase(_))) {
        eprintln!("{:>6} {:?}", e.time_ms, e.op);
    }
}

#[test]
fn consumer_polls() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/acks-all-leader-crashes.toml")).unwrap();
    let mut scenario: sim::scenario::Scenario = toml::from_str(&src).unwrap();
    scenario.nemesis = None;
    let out = sim::run::run(Arc::new(scenario), 1).unwrap();
    let mut by_node = std::collections::BTreeMap::new();
    for e in &out.history.events {
        let k = match &e.op { sim::history::Op::Poll{..} => "poll", sim::history::Op::FinalRead{..} => "final", sim::history::Op::Seek{..} => "seek", sim::history::Op::Replica(_) => "replica", _ => "other" };
        *by_node.entry((e.node, k)).or_insert(0) += 1;
    }
    eprintln!("{by_node:?} sim {}", out.simulated_ms);
}

#[test]
fn controller_events() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/acks-all-leader-crashes.toml")).unwrap();
    let mut scenario: sim::scenario::Scenario = toml::from_str(&src).unwrap();
    scenario.nemesis = None;
    let out = sim::run::run(Arc::new(scenario), 1).unwrap();
    for e in out.history.events.iter().filter(|e| e.node.0 == 0 || matches!(e.op, sim::history::Op::Replica(broker::effect::ReplicaEvent::BecameLeader{..}|broker::effect::ReplicaEvent::BecameFollower{..}))).take(40) {
        eprintln!("{:>6} {:>4} {:?}", e.time_ms, e.node.0, e.op);
    }
}
