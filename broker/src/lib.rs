//! A Kafka-like broker, its controller and its clients, written as sans-IO state machines: each
//! takes `now` and an input, changes itself, and pushes effects (messages to send, events to
//! record) for its host to carry out. Nothing here reads a clock, draws randomness or does IO,
//! so the same code runs under the simulator, in unit tests and in property tests. The little
//! randomness the clients need (backoff jitter) comes from a `random::Random` the host hands in.

pub mod backoff;
pub mod broker;
pub mod bugs;
pub mod config;
pub mod connections;
pub mod consumer;
pub mod controller;
pub mod disk;
pub mod effect;
pub mod fetch_order;
pub mod log;
pub mod metadata;
pub mod metadata_client;
pub mod partitioner;
pub mod producer;
pub mod protocol;
pub mod random;
pub mod replica;
pub mod types;
