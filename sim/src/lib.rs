//! The harness: a simulated Kafka-like cluster under madsim, the faults, the recorded history and
//! the checkers that judge it. It builds only as a simulation (`--cfg madsim`, which the
//! workspace's `.cargo/config.toml` sets).
//!
//! | module | what it is |
//! |---|---|
//! | `scenario` | scenario files: the model, loading with located errors, validation, fault targets |
//! | `layout`, `settings` | who is which node; a scenario turned into the state machines' settings |
//! | `run`, `resolve`, `budget` | one seeded run: fault phase, liveness phase, final read; a scenario resolved for a seed; the steps and history a run may take |
//! | `cluster`, `node` | the nodes under madsim, their durable slots, the operations faults are made of |
//! | `net`, `clock`, `entropy` | the TCP-like network, simulated time, the run's random streams |
//! | `faults`, `holds`, `nemesis` | firing faults; what each fault holds, so that overlapping faults compose; the fault timeline, with random faults drawn as the run goes |
//! | `workload`, `reader` | producer and consumer applications around the broker crate's clients |
//! | `history`, `hash`, `trace`, `trace_log` | what a run records, its fingerprint, its readable trace, and the clients' `tracing` events merged into it |
//! | `check`, `verdict` | the checkers, the bug/allowed judgement, and the expectations of a scenario |
//! | `report`, `sweep`, `seeds` | one run's report; sweeps of seeds on several threads: shards, stop at the first failure, determinism check, summaries that merge; the seed sets a sweep runs |
//! | `shrink` | a failing run reduced to the smallest scenario that still fails the same way |
//! | `floor` | the bare madsim exchange the benchmark compares against |

pub mod budget;
pub mod check;
pub mod clock;
pub mod cluster;
pub mod coverage;
pub mod entropy;
pub mod faults;
pub mod floor;
pub mod hash;
pub mod history;
pub mod history_json;
pub mod holds;
pub mod layout;
pub mod nemesis;
pub mod net;
pub mod node;
pub mod reader;
pub mod report;
pub mod resolve;
pub mod run;
pub mod scenario;
pub mod seeds;
pub mod settings;
pub mod shrink;
pub mod sweep;
pub mod trace;
pub mod trace_log;
pub mod verdict;
pub mod workload;
