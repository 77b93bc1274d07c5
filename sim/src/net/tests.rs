//! The network's rows, one test each: what a client observes when the server it talks to crashes,
//! loses power, is paused, is partitioned away, restarts, and when the network heals. A fixed
//! 1 ms latency makes every arrival time exact.

use super::*;
use broker::protocol::Request;
use madsim::runtime::Runtime;
use rand::SeedableRng;

const CLIENT: NodeId = NodeId(1000);
const OTHER_CLIENT: NodeId = NodeId(1001);
const SERVER: NodeId = NodeId(1);
const PEER: NodeId = NodeId(2);

fn config(packet_loss_rate: f64) -> NetConfig {
    NetConfig { latency_min_ms: 1, latency_max_ms: 1, packet_loss_rate, retransmit_timeout_ms: 200 }
}

/// Runs `test` on a network of four live nodes, inside a runtime (the clock needs one).
fn with_network(packet_loss_rate: f64, test: impl FnOnce(&mut Network) + Send + 'static) {
    Runtime::new().block_on(async move {
        let mut net = Network::new(config(packet_loss_rate), ChaCha8Rng::seed_from_u64(1), Clock::start());
        for node in [CLIENT, OTHER_CLIENT, SERVER, PEER] {
            net.add_node(node);
            net.set_up(node);
        }
        test(&mut net);
    });
}

fn request(correlation: u64) -> Message {
    Message::Request { correlation, request: Request::Metadata }
}

/// What `node` is handed at `now`, as short strings.
fn take(net: &mut Network, now: Millis, node: NodeId) -> Vec<String> {
    std::iter::from_fn(|| net.take_due(now, node))
        .map(|d| match d {
            Delivery::Message(e) => match e.message {
                Message::Request { correlation, .. } => format!("request {correlation} from {}", e.from),
                Message::Response { correlation, .. } => format!("response {correlation} from {}", e.from),
            },
            Delivery::Connected { peer } => format!("connected to {peer}"),
            Delivery::Disconnected { peer, established } => {
                format!("{} by {peer}", if established { "reset" } else { "refused" })
            }
        })
        .collect()
}

/// Every delivery to `node` up to `until`, each with its time.
fn take_until(net: &mut Network, until: Millis, node: NodeId) -> Vec<(Millis, String)> {
    (0..=until).flat_map(|t| take(net, t, node).into_iter().map(move |d| (t, d))).collect()
}

/// CLIENT connects to SERVER (handshake at 1–2 ms) and sends request 1, which SERVER reads at 3 ms.
fn established_with_a_request_in_flight(net: &mut Network) {
    net.send(0, CLIENT, SERVER, request(1));
    assert!(take(net, 1, SERVER).is_empty(), "the SYN is the host's business");
    assert_eq!(take(net, 2, CLIENT), ["connected to 1"]);
    assert_eq!(take(net, 3, SERVER), ["request 1 from 1000"]);
}

#[test]
fn a_new_connection_carries_nothing_until_its_handshake_completes() {
    with_network(0.0, |net| {
        net.send(0, CLIENT, SERVER, request(1));
        net.send(0, CLIENT, SERVER, request(2));
        // SYN at 1 ms, SYN-ACK at 2 ms, then the held requests, in order, at 3 ms.
        assert_eq!(take_until(net, 2, SERVER), []);
        assert_eq!(take_until(net, 2, CLIENT), [(2, "connected to 1".to_string())]);
        assert_eq!(take(net, 3, SERVER), ["request 1 from 1000", "request 2 from 1000"]);
        // A connection opened without data is announced the same way.
        net.connect(10, OTHER_CLIENT, SERVER);
        assert!(take_until(net, 11, SERVER).is_empty());
        assert_eq!(take(net, 12, OTHER_CLIENT), ["connected to 1"]);
    });
}

#[test]
fn crash_resets_every_connection_of_the_process_at_once() {
    with_network(0.0, |net| {
        // CLIENT's request is in flight at SERVER (read, not answered: a long poll); OTHER_CLIENT
        // is still in its handshake; SERVER itself holds a connection to PEER.
        established_with_a_request_in_flight(net);
        net.connect(3, OTHER_CLIENT, SERVER);
        net.send(3, SERVER, PEER, request(7));
        net.node_down(3, SERVER, Liveness::Crashed);
        assert_eq!(take(net, 4, CLIENT), ["reset by 1"]);
        assert_eq!(take_until(net, 10, OTHER_CLIENT), [(4, "refused by 1".to_string())]);
        // Its own connection died with it: its SYN to PEER completes nothing.
        assert!(take_until(net, 10, PEER).is_empty());
        // The host is up without the process: a new connection is refused at once.
        net.connect(20, CLIENT, SERVER);
        assert_eq!(take_until(net, 30, CLIENT), [(21, "refused by 1".to_string())]);
    });
}

#[test]
fn power_loss_leaves_every_peer_to_its_own_timeout() {
    with_network(0.0, |net| {
        established_with_a_request_in_flight(net);
        net.node_down(3, SERVER, Liveness::PoweredOff);
        net.send(4, CLIENT, SERVER, request(2));
        net.connect(4, OTHER_CLIENT, SERVER);
        assert!(take_until(net, 60_000, CLIENT).is_empty());
        assert!(take_until(net, 60_000, OTHER_CLIENT).is_empty());
    });
}

#[test]
fn a_paused_host_answers_nothing_until_it_resumes() {
    with_network(0.0, |net| {
        // SERVER's task does not run while it is paused: it takes nothing from its inbox, the
        // handshake included, until it resumes at 5 s.
        net.send(0, CLIENT, SERVER, request(1));
        assert!(take_until(net, 4_999, CLIENT).is_empty());
        assert!(take(net, 5_000, SERVER).is_empty(), "the SYN, answered on resume");
        assert_eq!(take(net, 5_001, CLIENT), ["connected to 1"]);
        assert_eq!(take(net, 5_002, SERVER), ["request 1 from 1000"]);
    });
}

#[test]
fn a_partition_stalls_traffic_and_handshakes_until_the_heal() {
    with_network(0.0, |net| {
        established_with_a_request_in_flight(net);
        for (a, b) in [(CLIENT, SERVER), (SERVER, CLIENT), (OTHER_CLIENT, SERVER), (SERVER, OTHER_CLIENT)] {
            net.block(3, a, b);
        }
        net.send(4, CLIENT, SERVER, request(2));
        net.reply(4, SERVER, CLIENT, 1, Message::Response { correlation: 1, response: metadata() });
        net.connect(4, OTHER_CLIENT, SERVER);
        assert!(take_until(net, 5_000, SERVER).is_empty());
        assert!(take_until(net, 5_000, CLIENT).is_empty());
        assert!(take_until(net, 5_000, OTHER_CLIENT).is_empty());
        for (a, b) in net.blocked_pairs() {
            net.unblock(5_000, a, b);
        }
        // In order, on the connections both ends still hold; the stalled handshake completes.
        assert_eq!(take(net, 5_001, SERVER), ["request 2 from 1000"]);
        assert_eq!(take(net, 5_001, CLIENT), ["response 1 from 1"]);
        assert_eq!(take(net, 5_002, OTHER_CLIENT), ["connected to 1"]);
    });
}

#[test]
fn what_a_partition_held_on_a_connection_the_client_gave_up_is_lost() {
    with_network(0.0, |net| {
        established_with_a_request_in_flight(net);
        net.block(3, CLIENT, SERVER);
        net.send(4, CLIENT, SERVER, request(2));
        // The client times the request out and closes the connection before the heal.
        net.close_outgoing(CLIENT, SERVER);
        net.unblock(5_000, CLIENT, SERVER);
        assert!(take_until(net, 6_000, SERVER).is_empty());
    });
}

#[test]
fn after_a_restart_old_connections_are_dead_and_new_ones_work() {
    with_network(0.0, |net| {
        established_with_a_request_in_flight(net);
        net.node_down(3, SERVER, Liveness::PoweredOff);
        net.set_up(SERVER);
        // The client's old connection: the new process answers a request on it with a reset.
        net.send(10, CLIENT, SERVER, request(2));
        assert!(take(net, 11, SERVER).is_empty());
        assert_eq!(take(net, 12, CLIENT), ["reset by 1"]);
        // Its next send opens a new connection, which works.
        net.send(20, CLIENT, SERVER, request(3));
        assert!(take(net, 21, SERVER).is_empty());
        assert_eq!(take(net, 22, CLIENT), ["connected to 1"]);
        assert_eq!(take(net, 23, SERVER), ["request 3 from 1000"]);
    });
}

#[test]
fn a_stale_reset_does_not_kill_a_newer_connection() {
    with_network(0.0, |net| {
        established_with_a_request_in_flight(net);
        net.node_down(3, SERVER, Liveness::Crashed);
        net.set_up(SERVER);
        // Before the crash's reset arrives (at 4 ms) the client has given the connection up and
        // opened another to the restarted server: the reset is about the old one.
        net.close_outgoing(CLIENT, SERVER);
        net.connect(3, CLIENT, SERVER);
        assert!(take(net, 4, SERVER).is_empty());
        assert_eq!(take_until(net, 10, CLIENT), [(5, "connected to 1".to_string())]);
    });
}

#[test]
fn the_heal_retransmits_at_once_what_was_waiting_out_retransmission_timeouts() {
    // 99 % loss: a packet's retransmissions add minutes. After `retransmit_now` everything in
    // flight arrives within the restored latency, in order per connection.
    with_network(0.99, |net| {
        net.connect(0, CLIENT, SERVER);
        // Let the handshake through on a sound network, then lose packets.
        net.set_config(config(0.0));
        net.retransmit_now(0);
        assert!(take(net, 1, SERVER).is_empty());
        assert_eq!(take(net, 2, CLIENT), ["connected to 1"]);
        net.set_config(config(0.99));
        for c in 1..=5 {
            net.send(10, CLIENT, SERVER, request(c));
        }
        assert!(take_until(net, 1_000, SERVER).is_empty(), "the loss delays them");
        net.set_config(config(0.0));
        net.retransmit_now(1_000);
        let expected: Vec<String> = (1..=5).map(|c| format!("request {c} from 1000")).collect();
        assert_eq!(take(net, 1_001, SERVER), expected);
    });
}

#[test]
fn one_retransmission_waits_at_most_tcp_rto_max() {
    // 200 ms doubling: 200, 400, …, 102 400, then 120 000 per further loss.
    assert_eq!(retransmission_delay(200, 0), 0);
    assert_eq!(retransmission_delay(200, 3), 200 + 400 + 800);
    assert_eq!(retransmission_delay(200, 10), 200 * 1023);
    assert_eq!(retransmission_delay(200, 11), 200 * 1023 + 120_000);
    assert_eq!(retransmission_delay(200, 13), 200 * 1023 + 3 * 120_000);
    // A first timeout above the cap is capped too.
    assert_eq!(retransmission_delay(500_000, 2), 240_000);
    // The most a packet ever waits: Linux's tcp_retries2 retransmissions.
    assert_eq!(retransmission_delay(200, TCP_RETRIES2), 200 * 1023 + 5 * 120_000);
}

#[test]
fn a_packet_is_retransmitted_at_most_tcp_retries2_times_and_the_last_gets_through() {
    with_network(0.0, |net| {
        established_with_a_request_in_flight(net);
        // Every transmission is lost but the last: the request waits out 15 retransmission
        // timeouts (200 ms doubling to the 120 s cap: 804.6 s) and the wire's 1 ms.
        net.set_config(config(0.999_999));
        net.send(3, CLIENT, SERVER, request(2));
        let arrival = 3 + 804_600 + 1;
        assert!(take_until(net, arrival - 1, SERVER).is_empty());
        assert_eq!(take(net, arrival, SERVER), ["request 2 from 1000"]);
    });
}

fn metadata() -> broker::protocol::Response {
    broker::protocol::Response::Metadata(Box::default())
}

/// Takes every delivery due to every node from `from` to `until`, millisecond by millisecond.
fn settle(net: &mut Network, from: Millis, until: Millis) {
    for t in from..=until {
        for node in [CLIENT, OTHER_CLIENT, SERVER, PEER] {
            take(net, t, node);
        }
    }
}

/// What the network still keeps of connections: held connections, stalled packets, queued
/// packets and their index, and the per-node lists of connection ends.
fn kept(net: &Network) -> (usize, usize, usize, usize, usize) {
    let queued = net.inboxes.values().map(|i| i.queue.len()).sum();
    let indexed = net.inboxes.values().flat_map(|i| i.by_sender.values()).map(|s| s.len()).sum();
    let ends = net.by_node.values().map(|s| s.len()).sum();
    (net.connections.len(), net.stalled.values().map(|s| s.len()).sum(), queued, indexed, ends)
}

/// Nothing of a connection outlives it, however many come and go, so a fault costs what is live,
/// not how long the run has been. Each round, a request travels on a connection its client gives
/// up, a partition catches it (it used to be rescheduled at the heal, leaving its connection's
/// order behind for good), and a server crashes under a connection and restarts.
#[test]
fn nothing_of_a_connection_outlives_it() {
    with_network(0.0, |net| {
        for round in 0..50 {
            let t = round * 100;
            net.connect(t, CLIENT, SERVER);
            net.connect(t, OTHER_CLIENT, PEER);
            settle(net, t, t + 2);
            net.send(t + 2, CLIENT, SERVER, request(round));
            net.close_outgoing(CLIENT, SERVER);
            net.block(t + 2, CLIENT, SERVER);
            net.node_down(t + 2, PEER, Liveness::Crashed);
            net.set_up(PEER);
            net.unblock(t + 10, CLIENT, SERVER);
            settle(net, t + 3, t + 99);
        }
        assert_eq!(kept(net), (0, 0, 0, 0, 0));
    });
}

fn response(correlation: u64) -> Message {
    Message::Response { correlation, response: metadata() }
}

#[test]
fn a_response_on_the_wire_when_its_server_crashes_arrives_before_the_reset() {
    with_network(0.0, |net| {
        established_with_a_request_in_flight(net);
        // SERVER answers at 3 ms (the answer arrives at 4 ms), then crashes at 3 ms: the answer was
        // acknowledged to the producer, whatever the leader does next.
        net.reply(3, SERVER, CLIENT, 1, response(1));
        net.node_down(3, SERVER, Liveness::Crashed);
        assert_eq!(
            take_until(net, 10, CLIENT),
            [(4, "response 1 from 1".to_string()), (4, "reset by 1".to_string())]
        );
    });
}

#[test]
fn a_response_on_the_wire_when_its_server_loses_power_arrives_then_silence() {
    with_network(0.0, |net| {
        established_with_a_request_in_flight(net);
        net.reply(3, SERVER, CLIENT, 1, response(1));
        net.node_down(3, SERVER, Liveness::PoweredOff);
        assert_eq!(take_until(net, 60_000, CLIENT), [(4, "response 1 from 1".to_string())]);
    });
}

#[test]
fn a_request_on_the_wire_when_its_client_dies_reaches_the_server() {
    for how in [Liveness::Crashed, Liveness::PoweredOff] {
        with_network(0.0, move |net| {
            established_with_a_request_in_flight(net);
            net.send(3, CLIENT, SERVER, request(2));
            net.node_down(3, CLIENT, how);
            assert_eq!(take(net, 4, SERVER), ["request 2 from 1000"], "{how:?}");
            // The server's end closed right behind the request (a reset, or, after a power loss,
            // silently): its answer goes nowhere, and nothing of the connection is left.
            net.reply(4, SERVER, CLIENT, 1, response(2));
            settle(net, 4, 10);
            assert_eq!(kept(net), (0, 0, 0, 0, 0), "{how:?}");
        });
    }
}

#[test]
fn a_handshake_answered_before_its_server_crashes_completes_then_is_reset() {
    with_network(0.0, |net| {
        // SERVER's host answers the SYN at 1 ms (the SYN-ACK arrives at 2 ms); the process
        // crashes at 1 ms. The client sends its held request on the completed connection, as a
        // real client would, and then reads the reset.
        net.send(0, CLIENT, SERVER, request(1));
        assert!(take(net, 1, SERVER).is_empty());
        net.node_down(1, SERVER, Liveness::Crashed);
        assert_eq!(take(net, 2, CLIENT), ["connected to 1", "reset by 1"]);
        assert!(take_until(net, 10, CLIENT).is_empty(), "one reset: the request's is stale");
    });
}

#[test]
fn what_a_dying_sender_had_not_put_on_the_wire_is_lost_with_what_follows_it() {
    with_network(0.0, |net| {
        established_with_a_request_in_flight(net);
        // At 3 ms SERVER answers three times: the first answer goes out (arrives at 4 ms), the
        // second is lost and waits out a retransmission timeout in SERVER's kernel, the third
        // goes out but TCP holds it behind the second.
        net.reply(3, SERVER, CLIENT, 1, response(1));
        net.set_config(config(0.99));
        net.reply(3, SERVER, CLIENT, 1, response(2));
        net.set_config(config(0.0));
        net.reply(3, SERVER, CLIENT, 1, response(3));
        // The crash takes the kernel's copy of the second with it: the client reads the first,
        // then the reset, at once — not after the retransmission timeout.
        net.node_down(3, SERVER, Liveness::Crashed);
        assert_eq!(
            take_until(net, 60_000, CLIENT),
            [(4, "response 1 from 1".to_string()), (4, "reset by 1".to_string())]
        );
    });
}

#[test]
fn what_a_partition_held_from_a_node_that_dies_is_lost() {
    with_network(0.0, |net| {
        // What a partition holds is waiting for its sender's retransmission, which dies with the
        // sender: after the heal the client reads the crash's reset, not the answer.
        established_with_a_request_in_flight(net);
        net.block(3, SERVER, CLIENT);
        net.reply(3, SERVER, CLIENT, 1, response(1));
        net.node_down(4, SERVER, Liveness::Crashed);
        assert!(take_until(net, 4_999, CLIENT).is_empty());
        net.unblock(5_000, SERVER, CLIENT);
        assert_eq!(take_until(net, 6_000, CLIENT), [(5_001, "reset by 1".to_string())]);
    });
}

#[test]
fn a_partition_catching_what_a_dead_node_had_on_the_wire_loses_it() {
    with_network(0.0, |net| {
        // The answer is on the wire when SERVER crashes, then a partition catches it: it would
        // have to be retransmitted after the heal, and SERVER's end of the connection is gone.
        // The crash's reset, the host's last word, waits for the heal.
        established_with_a_request_in_flight(net);
        net.reply(3, SERVER, CLIENT, 1, response(1));
        net.node_down(3, SERVER, Liveness::Crashed);
        net.block(3, SERVER, CLIENT);
        net.unblock(5_000, SERVER, CLIENT);
        assert_eq!(take_until(net, 6_000, CLIENT), [(5_001, "reset by 1".to_string())]);
    });
}
