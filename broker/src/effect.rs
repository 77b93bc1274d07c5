//! What a state machine asks its host to do. Cores never perform IO; they push effects here.

use crate::protocol::{Message, ReplyTo};
use crate::types::{BrokerId, Epoch, NodeId, Offset, TopicPartition};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug)]
pub enum Effect {
    /// Send on this node's current outgoing connection to `to`, opening one if needed. Until a new
    /// connection's handshake completes, the host holds what is sent on it.
    Send { to: NodeId, message: Message },
    /// Open a connection to `peer` without sending anything yet, as Kafka's clients do before a
    /// request (`NetworkClient.initiateConnect`). The host answers with a connected notice once
    /// the handshake completes, or a disconnect if it is refused; an unanswered attempt is the
    /// client's to time out (and close).
    Connect { peer: NodeId },
    /// Answer on the connection a request arrived on; dropped if that connection has closed.
    Reply { to: ReplyTo, message: Message },
    /// Close the outgoing connection to `peer` (a request timed out): whatever is still in flight on
    /// it, either way, is lost, and the next `Send` opens a new connection.
    CloseConnection { peer: NodeId },
    /// Close an incoming connection, as a broker does after an acks=0 produce it cannot take,
    /// so that the client notices and refreshes its metadata.
    CloseInbound { to: ReplyTo },
    /// A replica-state change the checkers want to see.
    Event(ReplicaEvent),
}

/// Replica-state changes, recorded in the history as probes (DESIGN §7).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplicaEvent {
    /// The controller chose a leader (or none) for a new epoch.
    LeaderElected { tp: TopicPartition, epoch: Epoch, leader: Option<BrokerId>, unclean: bool },
    /// The controller committed a new ISR.
    IsrChanged { tp: TopicPartition, epoch: Epoch, isr: Vec<BrokerId> },
    /// A broker fenced by the controller after its session expired.
    BrokerFenced { broker: BrokerId },
    /// A broker (re)joined the cluster.
    BrokerUnfenced { broker: BrokerId },
    /// A leader adopted a committed ISR: on becoming leader, when the controller accepted its
    /// AlterPartition, or when newer metadata changed it.
    LeaderIsr { tp: TopicPartition, epoch: Epoch, isr: Vec<BrokerId> },
    /// A broker began acting as leader of `tp` in `epoch`.
    BecameLeader { tp: TopicPartition, epoch: Epoch, log_end_offset: Offset, high_watermark: Offset },
    /// A broker began following `leader` in `epoch`.
    BecameFollower { tp: TopicPartition, epoch: Epoch, leader: BrokerId },
    /// A replica's high watermark moved; `log_end_offset` is the replica's own log end then.
    HighWatermark {
        tp: TopicPartition,
        epoch: Epoch,
        high_watermark: Offset,
        log_end_offset: Offset,
        leader: bool,
    },
    /// A replica cut its log: records at `to..from` were removed.
    Truncated { tp: TopicPartition, from: Offset, to: Offset },
    /// A power loss took the unflushed tail of a replica's log: the records at `to..from` are
    /// gone. Recorded by whoever cut the power, as the broker is not running to see it.
    LostUnflushed { tp: TopicPartition, from: Offset, to: Offset },
    /// A broker started from its disk.
    Recovered { log_end_offsets: Vec<(TopicPartition, Offset, Offset)> },
}

/// The effects produced by one step of a state machine.
pub type Outbox = Vec<Effect>;
