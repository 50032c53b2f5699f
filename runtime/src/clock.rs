//! The one source of time for everything in steadfast.
//!
//! Time is a monotonic count of nanoseconds since the first read in this process
//! ([`Nanos`]); nothing here reads wall-clock time, so a clock jump cannot open or close
//! a breaker.
//!
//! The source is `quanta`'s TSC-backed clock, read raw and scaled once since the origin
//! (no `quanta::Instant` and `Duration` in between). On this project's 2-vCPU machines
//! (`cargo bench -p steadfast --bench breaker`, the "clock read" rows, one run) a read
//! scaled to [`Nanos`] costs 18.1 ns against 29.3 ns for `std::time::Instant::now()`; a
//! raw TSC read, scaled once per interval (how `#[monitored]` times calls), less. Only the paths that need time read it (opening a
//! breaker, an open breaker deciding whether to admit a probe, the sliding windows); a
//! closed consecutive-failure breaker reads no clock at all.
//!
//! With the `test-util` feature the source is tokio's clock instead, so a test under
//! `#[tokio::test(start_paused = true)]` moves breakers with `tokio::time::advance`.
//! Unit tests of the state machine inject a [`ManualClock`].

use std::sync::OnceLock;
use std::time::Duration;

/// Nanoseconds since this process's time origin. Saturating arithmetic only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nanos(pub(crate) u64);

impl Nanos {
    pub(crate) fn saturating_add(self, d: Duration) -> Nanos {
        Nanos(self.0.saturating_add(duration_nanos(d)))
    }

    pub(crate) fn saturating_sub(self, earlier: Nanos) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// A `Duration` as nanoseconds, saturating at `u64::MAX` (584 years).
pub(crate) fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A monotonic time source.
pub trait Clock: Send + Sync + 'static {
    /// Now, in nanoseconds since the time origin.
    fn now(&self) -> Nanos;

    /// Now, in the source's own unit (TSC ticks for quanta): for measuring an interval with
    /// [`raw_delta_nanos`](Self::raw_delta_nanos), scaling once instead of twice.
    fn raw(&self) -> u64 {
        self.now().0
    }

    /// Nanoseconds between two [`raw`](Self::raw) readings (0 if `end` is not after `start`).
    fn raw_delta_nanos(&self, start: u64, end: u64) -> u64 {
        end.saturating_sub(start)
    }

    /// A recent time, at most a few milliseconds old and never ahead of [`now`](Self::now),
    /// for one atomic load; `None` when there is none (then read `now`).
    fn recent(&self) -> Option<Nanos> {
        None
    }

    /// The precise time of a clock that keeps a [`recent`](Self::recent) time, as a
    /// function: what a decision taken from the recent time calls later, when it needs
    /// the exact figure (the time left of an open breaker). Clocks with a recent time are
    /// process-wide, so a plain function reaches them.
    fn precise(&self) -> fn() -> Nanos {
        || Nanos(0)
    }

    /// Asks for [`recent`](Self::recent) to be kept up to date from now on.
    fn keep_recent(&self) {}
}

/// How far ahead of a [`Clock::recent`] reading a deadline must be for the reading to
/// decide alone that it has not passed: the upkeep ticks every millisecond, so a reading
/// this much behind means the upkeep thread was held up; then a precise read decides.
pub(crate) const RECENT_MARGIN: Duration = Duration::from_millis(5);

/// The upkeep of [`SystemClock`]'s recent time: a thread that stores the time every
/// millisecond, started when a breaker opens (an open breaker's rejections are the path
/// that wants a time without paying for a clock read) and stopping by itself after
/// [`RECENT_IDLE`] in which nobody read it. 0 = not running.
#[cfg(not(feature = "test-util"))]
static RECENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
#[cfg(not(feature = "test-util"))]
static RECENT_RUNNING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Set by readers, cleared by the upkeep at each tick.
#[cfg(not(feature = "test-util"))]
static RECENT_USED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
#[cfg(not(feature = "test-util"))]
const RECENT_TICK: Duration = Duration::from_millis(1);
/// How long the upkeep runs with nobody reading the recent time before it stops.
#[cfg(not(feature = "test-util"))]
const RECENT_IDLE: Duration = if cfg!(test) {
    Duration::from_millis(200)
} else {
    Duration::from_secs(10)
};

/// The process-wide clock (see the module docs for the source).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(feature = "test-util"))]
struct Source {
    clock: quanta::Clock,
    /// The raw reading at the time origin.
    origin: u64,
}

#[cfg(not(feature = "test-util"))]
fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        Source { clock, origin }
    })
}

#[cfg(not(feature = "test-util"))]
impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Nanos {
        // A raw reading scaled once, since the origin: no `Instant` and `Duration` in
        // between (about 4 ns less per read).
        let source = source();
        let raw = source.clock.raw();
        if raw <= source.origin {
            return Nanos(0);
        }
        Nanos(source.clock.delta_as_nanos(source.origin, raw))
    }

    #[inline]
    fn raw(&self) -> u64 {
        source().clock.raw()
    }

    #[inline]
    fn raw_delta_nanos(&self, start: u64, end: u64) -> u64 {
        source().clock.delta_as_nanos(start, end)
    }

    #[inline]
    fn recent(&self) -> Option<Nanos> {
        use std::sync::atomic::Ordering::Relaxed;
        match RECENT.load(Relaxed) {
            0 => None,
            nanos => {
                // Tell the upkeep it is wanted; a write only when the flag was down.
                if !RECENT_USED.load(Relaxed) {
                    RECENT_USED.store(true, Relaxed);
                }
                Some(Nanos(nanos))
            }
        }
    }

    fn precise(&self) -> fn() -> Nanos {
        || SystemClock.now()
    }

    fn keep_recent(&self) {
        use std::sync::atomic::Ordering::{Acquire, Relaxed};
        if RECENT_RUNNING.load(Relaxed)
            || RECENT_RUNNING
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_err()
        {
            return;
        }
        let tick = || RECENT.store(SystemClock.now().0.max(1), Relaxed);
        tick();
        RECENT_USED.store(true, Relaxed);
        let started = std::thread::Builder::new()
            .name("steadfast-clock".into())
            .spawn(move || {
                // Idle time is read from the clock: counting ticks would undercount it by
                // every sleep's overshoot (11-12 s for a documented 10).
                let mut last_used = SystemClock.now();
                loop {
                    std::thread::sleep(RECENT_TICK);
                    tick();
                    let now = SystemClock.now();
                    if RECENT_USED.swap(false, Relaxed) {
                        last_used = now;
                    } else if now.saturating_sub(last_used) >= RECENT_IDLE {
                        break;
                    }
                }
                // Nobody read the recent time for a while: stop, and let the next
                // breaker that opens (or the next rejection) start it again.
                RECENT.store(0, Relaxed);
                RECENT_RUNNING.store(false, std::sync::atomic::Ordering::Release);
            });
        if started.is_err() {
            // No thread, no recent time: every rejection reads the clock.
            RECENT.store(0, Relaxed);
            RECENT_RUNNING.store(false, std::sync::atomic::Ordering::Release);
        }
    }
}

#[cfg(feature = "test-util")]
impl Clock for SystemClock {
    fn now(&self) -> Nanos {
        // `tokio::time::Instant::now()` is the paused clock inside a runtime whose time is
        // paused, and `std::time::Instant::now()` everywhere else.
        // A paused runtime's clock can stand before the first read of this one (it froze
        // when the runtime was built), so the origin is set well in the past.
        static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
        let origin = *ORIGIN.get_or_init(|| {
            let now = std::time::Instant::now();
            now.checked_sub(Duration::from_secs(24 * 3600))
                .unwrap_or(now)
        });
        let now = tokio::time::Instant::now().into_std();
        Nanos(duration_nanos(now.saturating_duration_since(origin)))
    }
}

/// The time a retry's waits run on, read through the same `Nanos` as everything else:
/// a sync function's waits sleep the thread, so they are measured on the thread's clock;
/// an async function's waits are tokio timers, so they are measured on tokio's clock
/// (which `tokio::time::pause` stops, so `max_elapsed` follows paused time in tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waits {
    /// `std::thread::sleep`.
    Thread,
    /// `tokio::time::sleep`.
    Tokio,
}

impl Waits {
    /// Now, on this clock.
    pub(crate) fn now(self) -> Nanos {
        // A paused tokio clock can stand before the first read of this one (it froze when
        // its runtime was built), so the origin is set well in the past.
        static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
        let origin = *ORIGIN.get_or_init(|| {
            let now = std::time::Instant::now();
            now.checked_sub(Duration::from_secs(24 * 3600))
                .unwrap_or(now)
        });
        let now = match self {
            Waits::Thread => std::time::Instant::now(),
            Waits::Tokio => tokio::time::Instant::now().into_std(),
        };
        Nanos(duration_nanos(now.saturating_duration_since(origin)))
    }
}

/// A clock that moves only when told to; for unit tests of the state machine.
#[cfg(test)]
#[derive(Debug, Clone, Default)]
pub(crate) struct ManualClock(std::sync::Arc<std::sync::atomic::AtomicU64>);

#[cfg(test)]
impl ManualClock {
    pub(crate) fn advance(&self, d: Duration) {
        self.0
            .fetch_add(duration_nanos(d), std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> Nanos {
        Nanos(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[cfg(all(test, not(feature = "test-util")))]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;

    use super::*;

    #[test]
    fn the_upkeep_keeps_a_recent_time_and_stops_when_nobody_reads_it() {
        SystemClock.keep_recent();
        let recent = SystemClock.recent().expect("running");
        assert!(recent <= SystemClock.now());
        // Without readers (peeking at the static does not count as reading), it stops.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while RECENT.load(Relaxed) != 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the upkeep never stopped"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(SystemClock.recent(), None);
        // And starts again when asked.
        while RECENT_RUNNING.load(Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
        }
        SystemClock.keep_recent();
        assert!(SystemClock.recent().is_some());
    }
}
