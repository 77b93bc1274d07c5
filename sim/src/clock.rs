//! Simulated time as the cores see it: whole milliseconds since the start of the run.

use broker::types::Millis;
use madsim::time::{Duration, Instant};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// Must be called inside the run's runtime, at its start.
    pub fn start() -> Clock {
        Clock { start: Instant::now() }
    }

    pub fn now_ms(&self) -> Millis {
        (Instant::now() - self.start).as_millis() as Millis
    }

    /// Sleeps until `t` ms after the start. Absolute deadlines keep timer rounding from drifting.
    pub async fn sleep_until(&self, t: Millis) {
        madsim::time::sleep_until(self.start + Duration::from_millis(t)).await
    }

    /// Arms a madsim timer that wakes `waker` at `t`. (Polling a madsim sleep once registers its
    /// timer; the timer outlives the sleep.)
    pub fn wake_at(&self, t: Millis, waker: &Waker) {
        let mut sleep = madsim::time::sleep_until(self.start + Duration::from_millis(t));
        let _ = Pin::new(&mut sleep).poll(&mut Context::from_waker(waker));
    }
}
