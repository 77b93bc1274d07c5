//! A client's view of the cluster: the latest metadata it got, and its one metadata request at a
//! time, sent to the bootstrap brokers in turn (moving to the next when one fails), as the
//! producer and the consumer share it.

use crate::effect::{Effect, Outbox};
use crate::metadata::MetadataImage;
use crate::protocol::{Message, Request};
use crate::types::{BrokerId, CorrelationId, Millis, NodeId};

pub struct MetadataClient {
    bootstrap: Vec<NodeId>,
    request_timeout_ms: Millis,
    retry_backoff_ms: Millis,
    image: MetadataImage,
    /// The request in flight: its correlation id, the broker asked, and its deadline.
    request: Option<(CorrelationId, BrokerId, Millis)>,
    wanted: bool,
    retry_at: Millis,
    next_bootstrap: usize,
}

impl MetadataClient {
    /// A client that wants metadata from the start.
    pub fn new(bootstrap: Vec<NodeId>, request_timeout_ms: Millis, retry_backoff_ms: Millis) -> Self {
        MetadataClient {
            bootstrap,
            request_timeout_ms,
            retry_backoff_ms,
            image: MetadataImage::default(),
            request: None,
            wanted: true,
            retry_at: 0,
            next_bootstrap: 0,
        }
    }

    pub fn image(&self) -> &MetadataImage {
        &self.image
    }

    /// Asks for a refresh at the next poll (after the backoff, if one is running).
    pub fn want_refresh(&mut self) {
        self.wanted = true;
    }

    /// Whether the client still wants a refresh (set after each answer by the caller's needs).
    pub fn set_wanted(&mut self, wanted: bool) {
        self.wanted = wanted;
    }

    /// When the metadata side needs the timer: the request's deadline, or the retry of a refresh.
    pub fn deadline(&self) -> Option<Millis> {
        match self.request {
            Some((_, _, deadline)) => Some(deadline),
            None => self.wanted.then_some(self.retry_at),
        }
    }

    /// Sends a request if a refresh is wanted, none is in flight and the backoff has passed.
    pub fn poll(&mut self, now: Millis, next_correlation: &mut CorrelationId, out: &mut Outbox) {
        if !self.wanted || self.request.is_some() || now < self.retry_at || self.bootstrap.is_empty() {
            return;
        }
        let broker = self.bootstrap[self.next_bootstrap % self.bootstrap.len()];
        let correlation = *next_correlation;
        *next_correlation += 1;
        self.request = Some((correlation, broker, now + self.request_timeout_ms));
        out.push(Effect::Send {
            to: broker,
            message: Message::Request { correlation, request: Request::Metadata },
        });
    }

    /// A timed-out request closes its connection. Returns the broker if that happened.
    pub fn expire(&mut self, now: Millis, out: &mut Outbox) -> Option<BrokerId> {
        let (_, broker, deadline) = self.request?;
        if deadline > now {
            return None;
        }
        out.push(Effect::CloseConnection { peer: broker });
        self.connection_lost(now, broker);
        Some(broker)
    }

    /// Takes a metadata answer if it is the one awaited; returns whether it was.
    pub fn on_response(&mut self, now: Millis, correlation: CorrelationId, image: MetadataImage) -> bool {
        if self.request.is_none_or(|(c, _, _)| c != correlation) {
            return false;
        }
        self.request = None;
        if image.version >= self.image.version {
            self.image = image;
        }
        self.retry_at = now + self.retry_backoff_ms;
        true
    }

    /// The connection to `broker` broke: a request on it failed, and leadership may have moved.
    pub fn connection_lost(&mut self, now: Millis, broker: BrokerId) {
        if self.request.is_some_and(|(_, b, _)| b == broker) {
            self.request = None;
            self.retry_at = now + self.retry_backoff_ms;
            self.next_bootstrap += 1;
        }
        self.wanted = true;
    }
}
