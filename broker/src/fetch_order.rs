//! The order a fetcher lists its partitions in. A fetch response fills partitions in request
//! order until its byte limit, so a fixed order would let the first partitions with data starve
//! the rest whenever records are large. Kafka's fetchers move a partition that just returned
//! records to the end of the list (`AbstractFetcherThread`'s `partitionStates.updateAndMoveToEnd`
//! for followers, `SubscriptionState.movePartitionToEnd` for consumers); so does this.

use crate::types::TopicPartition;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct FetchOrder {
    /// When each partition last returned records, as a count of such events; absent: never.
    last_data: BTreeMap<TopicPartition, u64>,
    served: u64,
}

impl FetchOrder {
    /// `tp` returned records: it goes behind every other partition.
    pub fn served(&mut self, tp: &TopicPartition) {
        self.served += 1;
        self.last_data.insert(tp.clone(), self.served);
    }

    /// Sorts `items` (keyed by their partition) so that partitions served longest ago come first;
    /// ties keep their order.
    pub fn arrange<T>(&self, items: &mut [T], tp: impl Fn(&T) -> &TopicPartition) {
        items.sort_by_key(|item| self.last_data.get(tp(item)).copied().unwrap_or(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_that_returned_records_goes_last() {
        let tps: Vec<TopicPartition> = (0..3).map(|p| TopicPartition::new("t", p)).collect();
        let mut order = FetchOrder::default();
        let mut list = tps.clone();
        order.arrange(&mut list, |tp| tp);
        assert_eq!(list, tps, "never served: the given order");
        order.served(&tps[0]);
        order.arrange(&mut list, |tp| tp);
        assert_eq!(list, vec![tps[1].clone(), tps[2].clone(), tps[0].clone()]);
        order.served(&tps[1]);
        order.arrange(&mut list, |tp| tp);
        assert_eq!(list, vec![tps[2].clone(), tps[0].clone(), tps[1].clone()]);
    }
}
