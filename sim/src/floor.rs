//! The floor: what madsim itself charges for a request/response exchange, with no broker in it.
//!
//! The headline figure of the harness is seeds per second for the standard scenario. Next to it
//! we report [`bare_exchange`] for the same number of messages: one seeded runtime, two nodes,
//! nothing but requests and responses crossing madsim's simulated network. The gap between the
//! two is what the broker, the clients, the faults and the history cost; the floor is what no
//! amount of work on them can go below.

use madsim::net::{Endpoint, NetSim};
use madsim::runtime::{Handle, Runtime};
use madsim::time::{sleep, timeout, Duration, Instant};
use std::net::SocketAddr;

/// What one [`bare_exchange`] run did, in simulated terms only, so that two runs of one seed
/// compare equal. The caller times the call on the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloorReport {
    /// Request/response exchanges completed.
    pub round_trips: u64,
    /// Messages madsim's network carried, as counted by the network itself: requests plus
    /// responses, so twice `round_trips`.
    pub messages: u64,
    /// Simulated time from the first request to the last response.
    pub simulated_ms: u64,
}

/// Requests the client keeps outstanding, like a producer with
/// `max.in.flight.requests.per.connection = 5`, Kafka's default.
pub const IN_FLIGHT: u64 = 5;

/// How long the client waits for any response before declaring the run broken: Kafka's
/// `request.timeout.ms`. Nothing is lost in this run, so it never fires; it is there so that a
/// lost message would fail the run instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const REQUEST_TAG: u64 = 1;
const RESPONSE_TAG: u64 = 2;

/// A request the size of the broker's small messages: a few machine words.
#[derive(Clone, Copy, Debug)]
struct FloorRequest {
    correlation: u64,
    key: u64,
    value: u64,
}

/// Where the record landed, with the record echoed back.
#[derive(Clone, Copy, Debug)]
struct FloorResponse {
    correlation: u64,
    key: u64,
    value: u64,
    offset: u64,
}

fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 9092))
}

fn client_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], 9092))
}

/// Runs one seeded madsim runtime with two nodes: a client that makes `round_trips`
/// request/response exchanges with a server over madsim's simulated network, then returns.
///
/// What it measures, exactly:
/// - madsim's default network (`Config::default()`: no loss, 1–10 ms latency per message drawn
///   from the seed), one client node and one server node on one `Endpoint` each;
/// - the client keeps [`IN_FLIGHT`] requests outstanding and sends the next one whenever a
///   response arrives, like a pipelining producer; responses may overtake each other, and each is
///   matched to an outstanding request by its correlation id;
/// - the server answers requests one at a time in arrival order, stamping the next offset, like
///   a Kafka broker handling one connection;
/// - messages travel as typed values (`send_to_raw`/`recv_from_raw`, the typed form of
///   `send_to`/`recv_from` and what `call_timeout` is built on), not serialized: in simulation
///   the broker's typed messages need no serialization either. `call_timeout` would add a task
///   spawned on the server per request and a random response tag per call;
/// - each wait for a response is bounded by a timeout, as every wait in the harness must be
///   (madsim never fails a request whose answer was lost), so it carries the one timer per
///   request that a real client's request timeout costs too;
/// - and the set-up and tear-down that every seeded run pays: a fresh OS thread, the runtime,
///   two nodes, killing both at the end and a 1 ms sleep so their tasks are freed.
///
/// On top of each message's latency, madsim sleeps at least 1 ms (its timer's minimum sleep)
/// inside every send and every receive, so a message takes 3–12 ms of simulated time and a run
/// of 3,000 round trips about 10 simulated seconds.
pub fn bare_exchange(seed: u64, round_trips: u64) -> FloorReport {
    let run = std::thread::Builder::new()
        .name(format!("floor-seed-{seed}"))
        .spawn(move || run_on_this_thread(seed, round_trips))
        .expect("spawn a thread for one seeded run");
    match run.join() {
        Ok(report) => report,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Must run on a thread of its own: the runtime is created before anything else on it, so that
/// madsim seeds the thread's hash and random state from `seed`.
fn run_on_this_thread(seed: u64, round_trips: u64) -> FloorReport {
    let runtime = Runtime::with_seed_and_config(seed, madsim::Config::default());
    let server = runtime.create_node().name("server").ip(server_addr().ip()).build();
    let client = runtime.create_node().name("client").ip(client_addr().ip()).build();
    runtime.block_on(async move {
        // Bound before the first request is sent, or the request would find no socket.
        server.spawn(serve()).await.expect("server starts");
        let (completed, simulated_ms) = client.spawn(exchange(round_trips)).await.expect("client finishes");
        let messages = NetSim::current().stat().msg_count;

        let handle = Handle::current();
        handle.kill(server.id());
        handle.kill(client.id());
        sleep(Duration::from_millis(1)).await;

        FloorReport { round_trips: completed, messages, simulated_ms }
    })
}

/// Binds the server's endpoint and leaves a task answering requests until the node is killed.
async fn serve() {
    let endpoint = Endpoint::bind(server_addr()).await.expect("bind the server");
    madsim::task::spawn(async move {
        let mut next_offset = 0;
        loop {
            let (payload, from) =
                endpoint.recv_from_raw(REQUEST_TAG).await.expect("the server's endpoint is open");
            let request = payload.downcast::<FloorRequest>().expect("a FloorRequest");
            let response = FloorResponse {
                correlation: request.correlation,
                key: request.key,
                value: request.value,
                offset: next_offset,
            };
            next_offset += 1;
            endpoint
                .send_to_raw(from, RESPONSE_TAG, Box::new(response))
                .await
                .expect("the server's endpoint is open");
        }
    });
}

/// The client: `round_trips` requests, at most [`IN_FLIGHT`] outstanding. Returns how many
/// responses it matched and the simulated milliseconds from the first request to the last
/// response.
async fn exchange(round_trips: u64) -> (u64, u64) {
    let endpoint = Endpoint::bind(client_addr()).await.expect("bind the client");
    let mut outstanding: Vec<u64> = Vec::with_capacity(IN_FLIGHT as usize);
    let mut sent = 0;
    let mut completed = 0;
    let start = Instant::now();
    while completed < round_trips {
        while sent < round_trips && (outstanding.len() as u64) < IN_FLIGHT {
            let request = FloorRequest { correlation: sent, key: sent % 8, value: sent };
            endpoint
                .send_to_raw(server_addr(), REQUEST_TAG, Box::new(request))
                .await
                .expect("the client's endpoint is open");
            outstanding.push(sent);
            sent += 1;
        }
        let (payload, _) = timeout(REQUEST_TIMEOUT, endpoint.recv_from_raw(RESPONSE_TAG))
            .await
            .expect("nothing is lost in a bare exchange, so every request is answered")
            .expect("the client's endpoint is open");
        let response = payload.downcast::<FloorResponse>().expect("a FloorResponse");
        let slot = outstanding
            .iter()
            .position(|&correlation| correlation == response.correlation)
            .expect("a response answers an outstanding request");
        outstanding.swap_remove(slot);
        assert_eq!(
            (response.key, response.value),
            (response.correlation % 8, response.correlation),
            "a response echoes its request"
        );
        assert!(response.offset < sent, "one offset per request received");
        completed += 1;
    }
    (completed, start.elapsed().as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_trip_is_two_messages() {
        let report = bare_exchange(1, 100);
        assert_eq!(report.round_trips, 100);
        assert_eq!(report.messages, 200);
        assert!(report.simulated_ms > 0);
    }

    #[test]
    fn one_seed_gives_one_report() {
        assert_eq!(bare_exchange(1, 100), bare_exchange(1, 100));
    }

    #[test]
    fn the_seed_draws_the_latencies() {
        assert_ne!(bare_exchange(1, 100).simulated_ms, bare_exchange(2, 100).simulated_ms);
    }

    #[test]
    fn fewer_round_trips_than_in_flight_requests() {
        let report = bare_exchange(3, 2);
        assert_eq!((report.round_trips, report.messages), (2, 4));
        assert_eq!(bare_exchange(3, 0), FloorReport { round_trips: 0, messages: 0, simulated_ms: 0 });
    }
}
