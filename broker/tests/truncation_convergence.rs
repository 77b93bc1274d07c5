//! Leader-epoch truncation (KIP-101/279) converges: after any history of leaders, a follower that
//! fetches from the current leader, truncating wherever the leader reports a divergence and
//! fetching again, ends in a bounded number of rounds with a prefix of its log that equals the
//! leader's log on that prefix (records and epochs), and never cuts below the longest common
//! prefix of the two logs, so it never drops a record the leader has.
//!
//! Histories are built like Kafka's: terms with strictly increasing leader epochs; the term's
//! leader (any replica: unclean elections included) records its epoch and appends; followers
//! reconcile with it and copy some of its log; any replica may flush or lose power (a leader that
//! loses power ends its term). Every reconciliation during the history is checked, and at the end
//! every follower reconciles with the last leader.

mod common;

use broker::log::PartitionLog;
use broker::protocol::EpochEndOffset;
use broker::types::{Epoch, Offset, Record, DEFAULT_RECORD_SIZE_BYTES};
use common::{check_log, config};
use proptest::prelude::*;

const REPLICAS: usize = 3;

// ----- the broker's rules, mirrored ---------------------------------------------------------
//
// The functions below restate private code of `broker::broker::Broker` against the public
// `PartitionLog` API. Keep them in sync with it:
// - `fetch_answer` mirrors the leader's side: the OffsetOutOfRange case of `fetch_error` (only
//   without a last fetched epoch) and `diverging_epoch`;
// - `divergence_truncation_offset` mirrors the follower's method of that name;
// - `reconcile` mirrors the fetch loop: `send_fetches` fetches at the log end with
//   `latest_epoch()`, and `handle_fetch_response` truncates on a divergence or an
//   OffsetOutOfRange, then fetches again.

/// What a leader answers a follower's fetch with, for one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FetchAnswer {
    /// No divergence: records from `fetch_offset` on.
    Records,
    /// Truncate to the end of this epoch, then fetch again.
    Diverging(EpochEndOffset),
    /// The fetch offset is past the leader's log end (carried in the answer).
    OffsetOutOfRange(Offset),
}

fn fetch_answer(
    leader: &PartitionLog,
    fetch_offset: Offset,
    last_fetched_epoch: Option<Epoch>,
) -> FetchAnswer {
    let Some(epoch) = last_fetched_epoch else {
        return if fetch_offset > leader.end_offset() {
            FetchAnswer::OffsetOutOfRange(leader.end_offset())
        } else {
            FetchAnswer::Records
        };
    };
    // An epoch the leader cannot place is answered as out of range, as the broker does.
    let Some(theirs) = leader.end_offset_for_epoch(epoch) else {
        return FetchAnswer::OffsetOutOfRange(leader.end_offset());
    };
    if theirs.epoch != epoch || theirs.end_offset < fetch_offset {
        FetchAnswer::Diverging(theirs)
    } else {
        FetchAnswer::Records
    }
}

/// As the broker does on OFFSET_OUT_OF_RANGE: back to the leader's end when ahead of it, else
/// from scratch (the leader's log start, 0 here).
fn out_of_range_truncation_offset(follower: &PartitionLog, leader_end: Offset) -> Offset {
    if leader_end < follower.end_offset() {
        leader_end
    } else {
        0
    }
}

fn divergence_truncation_offset(follower: &PartitionLog, leader: EpochEndOffset) -> Offset {
    match follower.end_offset_for_epoch(leader.epoch) {
        Some(m) => m.end_offset.min(leader.end_offset),
        None => 0,
    }
}

// ----- the property ---------------------------------------------------------------------------

/// How many leading records two logs share (records compared with their epochs).
fn common_prefix(a: &PartitionLog, b: &PartitionLog) -> Offset {
    a.records().iter().zip(b.records()).take_while(|(x, y)| x == y).count() as Offset
}

/// Fetches from `leader` until it answers with records, truncating as the broker does, and
/// checks every step. Returns the number of fetches it took.
fn reconcile(follower: &mut PartitionLog, leader: &PartitionLog) -> Result<usize, TestCaseError> {
    let mut common = common_prefix(follower, leader);
    // Each divergence either drops the follower's latest epoch or cuts inside it to where the
    // leader's copy of that epoch ends, which the next fetch accepts.
    let bound = follower.epochs().len() + 2;
    for round in 1..=bound {
        let target = match fetch_answer(leader, follower.end_offset(), follower.latest_epoch()) {
            FetchAnswer::Records => {
                let end = follower.end_offset() as usize;
                prop_assert_eq!(follower.records(), &leader.records()[..end], "not a prefix of the leader");
                prop_assert_eq!(follower.end_offset(), common);
                // The follower's cache is the leader's, restricted to the shared prefix, so its
                // next fetch's epoch means the same on both sides. One exception, harmless: for an
                // epoch older than every epoch it has, the leader answers that epoch ending where
                // its first epoch starts (Kafka's rule), so an empty follower whose only entry is
                // such an epoch without records keeps it; its first copied record or any
                // truncation removes it.
                let leader_epochs: Vec<_> =
                    leader.epochs().iter().copied().filter(|&(_, s)| s < follower.end_offset()).collect();
                let empty_unknown_epoch = follower.end_offset() == 0
                    && follower.epochs().len() == 1
                    && !leader.epochs().iter().any(|&(e, _)| e == follower.epochs()[0].0);
                if !empty_unknown_epoch {
                    prop_assert_eq!(follower.epochs(), &leader_epochs[..]);
                }
                return Ok(round);
            }
            FetchAnswer::Diverging(d) => {
                let target = divergence_truncation_offset(follower, d);
                prop_assert!(target >= common, "truncation to {} below the common prefix {}", target, common);
                target
            }
            // Starting over from the leader's log start may cut below the common prefix: the
            // leader still has it all.
            FetchAnswer::OffsetOutOfRange(leader_end) => {
                let target = out_of_range_truncation_offset(follower, leader_end);
                common = common.min(target);
                target
            }
        };
        follower.truncate_to(target);
        check_log(follower)?;
    }
    Err(TestCaseError::fail(format!(
        "no agreement in {bound} fetches: follower {:?} / {:?}, leader {:?} / {:?}",
        follower.epochs(),
        follower.records(),
        leader.epochs(),
        leader.records()
    )))
}

#[derive(Clone, Debug)]
enum Step {
    /// The leader appends `n` records.
    Append(usize),
    /// A follower reconciles with the leader, then copies up to `max` records.
    Sync {
        follower: usize,
        max: usize,
    },
    Flush(usize),
    PowerLoss(usize),
}

#[derive(Clone, Debug)]
struct Term {
    leader: usize,
    epoch_gap: Epoch,
    steps: Vec<Step>,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..4usize).prop_map(Step::Append),
        4 => (0..REPLICAS, 0..6usize).prop_map(|(follower, max)| Step::Sync { follower, max }),
        1 => (0..REPLICAS).prop_map(Step::Flush),
        1 => (0..REPLICAS).prop_map(Step::PowerLoss),
    ]
}

fn term() -> impl Strategy<Value = Term> {
    (0..REPLICAS, 1..3u32, prop::collection::vec(step(), 0..10)).prop_map(|(leader, epoch_gap, steps)| Term {
        leader,
        epoch_gap,
        steps,
    })
}

/// The same value never appears twice, so equal records really are copies of one append.
fn fresh(next: &mut u64, n: usize) -> Vec<Record> {
    (0..n)
        .map(|_| {
            *next += 1;
            Record::sized(None, *next)
        })
        .collect()
}

/// Plays the history; every reconciliation along the way is checked. Returns the logs and the
/// index of the last leader.
fn play(terms: &[Term]) -> Result<(Vec<PartitionLog>, usize, usize), TestCaseError> {
    let mut logs = vec![PartitionLog::default(); REPLICAS];
    let mut epoch: Option<Epoch> = None;
    let mut next_value = 0;
    let mut max_rounds = 0;
    for term in terms {
        // The controller's first epoch is 0; every leadership change bumps it.
        let e = epoch.map_or(term.epoch_gap - 1, |e| e + term.epoch_gap);
        epoch = Some(e);
        let leader = term.leader;
        // As `change_role` does on becoming leader.
        logs[leader].assign_epoch(e);
        for step in &term.steps {
            match *step {
                Step::Append(n) => {
                    logs[leader].append_as_leader(e, &fresh(&mut next_value, n));
                }
                Step::Sync { follower, max } if follower != leader => {
                    let leader_log = logs[leader].clone();
                    let f = &mut logs[follower];
                    max_rounds = max_rounds.max(reconcile(f, &leader_log)?);
                    // Every record here is of the default size: a bound of `max` records.
                    let max_bytes = max as u64 * u64::from(DEFAULT_RECORD_SIZE_BYTES);
                    let copied = leader_log.read(f.end_offset(), leader_log.end_offset(), max_bytes, false);
                    f.append_replicated(copied);
                }
                Step::Sync { .. } => {}
                Step::Flush(r) => logs[r].flush(),
                Step::PowerLoss(r) => {
                    logs[r].lose_unflushed();
                    if r == leader {
                        // A restarted leader is fenced: its term is over.
                        break;
                    }
                }
            }
            for log in &logs {
                check_log(log)?;
            }
        }
    }
    Ok((logs, terms.last().map_or(0, |t| t.leader), max_rounds))
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn followers_converge_to_the_leaders_log(terms in prop::collection::vec(term(), 1..14)) {
        let (mut logs, leader, _) = play(&terms)?;
        let leader_log = logs[leader].clone();
        for (i, log) in logs.iter_mut().enumerate() {
            if i != leader {
                reconcile(log, &leader_log)?;
                // Reconciled once, a second fetch finds nothing to cut.
                let again = log.clone();
                prop_assert_eq!(reconcile(log, &leader_log)?, 1);
                prop_assert_eq!(&*log, &again);
            }
        }
    }
}

// ----- cases worth naming -----------------------------------------------------------------------

fn records(n: usize, from: u64) -> Vec<Record> {
    (0..n as u64).map(|i| Record::sized(None, from + i)).collect()
}

/// KIP-279's fast leader change: the follower's latest epoch is one the leader never saw, and the
/// leader's answer names an older epoch that ends later in the leader's log than in the follower's.
/// Cutting at the leader's end alone would keep a divergent record.
#[test]
fn an_epoch_the_leader_never_saw_is_cut_at_the_followers_own_end_of_the_older_epoch() {
    let mut a = PartitionLog::default();
    a.append_as_leader(1, &records(2, 0));
    let mut b = a.clone();
    // Epoch 2: A leads and appends one record nobody copies.
    a.append_as_leader(2, &records(1, 10));
    // Epoch 3: B leads, appends two; A is still at epoch 2.
    b.append_as_leader(3, &records(2, 20));
    // Epoch 4: A leads again (unclean) and appends; B must drop its epoch-3 records.
    a.append_as_leader(4, &records(1, 30));
    let rounds = reconcile(&mut b, &a).expect("converges");
    assert_eq!(b.end_offset(), 2);
    assert_eq!(b.records(), &a.records()[..2]);
    assert!(rounds >= 2, "the first answer (epoch 2 ends at 3) must not be taken as final");
}

/// The mirrored rules are those the property needs: reversing the follower's `min` (trusting the
/// leader's end alone) is caught.
#[test]
fn the_leaders_end_alone_would_keep_a_divergent_record() {
    let mut a = PartitionLog::default();
    a.append_as_leader(1, &records(2, 0));
    let mut b = a.clone();
    a.append_as_leader(2, &records(2, 10));
    b.append_as_leader(3, &records(2, 20));
    a.append_as_leader(4, &records(1, 30));
    let d = match fetch_answer(&a, b.end_offset(), b.latest_epoch()) {
        FetchAnswer::Diverging(d) => d,
        other => panic!("expected a divergence, got {other:?}"),
    };
    assert_eq!(d, EpochEndOffset { epoch: 2, end_offset: 4 });
    // B has no epoch 2: its own end for epoch 2 is where its epoch 1 ends.
    assert_eq!(divergence_truncation_offset(&b, d), 2);
}
