//! Simulated time as the cores see it: whole milliseconds since the start of the run.
//!
//! **One simulated millisecond is one second of madsim's clock.** madsim's timers cannot fire
//! sooner than a millisecond after they are set, and every task it polls moves its clock on by
//! 50–100 ns. Were a simulated millisecond madsim's own, a task waking at a millisecond's start
//! would be a few hundred nanoseconds late, its next wake-up a millisecond after *that*, and a
//! chain of wake-ups one millisecond apart (dense faults, a busy node) would slip a whole
//! millisecond every few thousand links. A second per millisecond puts the floor and the
//! per-poll cost far below the harness's resolution: every wake-up lands on its millisecond.
//! Nothing else in a run reads madsim's clock.

use broker::types::Millis;
use madsim::time::{Duration, Instant};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

/// madsim's time for `ms` simulated milliseconds: a second each.
pub fn madsim_duration(ms: Millis) -> Duration {
    Duration::from_secs(ms)
}

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
        (Instant::now() - self.start).as_secs()
    }

    fn instant(&self, t: Millis) -> Instant {
        self.start + madsim_duration(t)
    }

    /// Sleeps until `t` ms after the start. Absolute deadlines keep timer rounding from drifting.
    /// At or past `t` it returns at once: a sleep lasts at least madsim's floor, and faults due at
    /// one instant must fire at that instant.
    pub async fn sleep_until(&self, t: Millis) {
        if self.now_ms() >= t {
            return;
        }
        madsim::time::sleep_until(self.instant(t)).await
    }

    /// Arms a madsim timer that wakes `waker` at `t`. (Polling a madsim sleep once registers its
    /// timer; the timer outlives the sleep.)
    pub fn wake_at(&self, t: Millis, waker: &Waker) {
        let mut sleep = madsim::time::sleep_until(self.instant(t));
        let _ = Pin::new(&mut sleep).poll(&mut Context::from_waker(waker));
    }
}
