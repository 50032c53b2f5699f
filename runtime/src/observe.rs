//! The seam between what happens and who records it. The state machines (breakers,
//! retries, timeouts, `#[monitored]` calls) keep their own figures and tell every move
//! here; this module hands it to the exporters that are switched on (today the `metrics`
//! facade, with the feature of that name). Nothing else in the runtime knows an exporter.

use crate::BreakerState;
use crate::figures::Count;
use crate::labels::Exported;

/// What the recorders keep for one `#[monitored]` function: handles taken once, at its
/// first call, so the hot path does no lookup.
#[derive(Debug)]
pub(crate) struct FunctionRecorder {
    #[cfg(feature = "metrics")]
    facade: crate::facade::FunctionHandles,
}

impl FunctionRecorder {
    /// The recorder kept in `slot`, made at the first call with the function's name. With
    /// no exporter switched on there is nothing to keep: no lookup at all.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn get(
        slot: &std::sync::OnceLock<FunctionRecorder>,
        function: impl FnOnce() -> &'static str,
    ) -> &FunctionRecorder {
        #[cfg(feature = "metrics")]
        return slot.get_or_init(|| FunctionRecorder {
            facade: crate::facade::FunctionHandles::new(function()),
        });
        #[cfg(not(feature = "metrics"))]
        return &FunctionRecorder {};
    }

    /// A call started.
    #[inline]
    pub(crate) fn started(&self) {
        #[cfg(feature = "metrics")]
        self.facade.started();
    }

    /// A call failed (an `Err`, or a panic).
    #[inline]
    pub(crate) fn failed(&self) {
        #[cfg(feature = "metrics")]
        self.facade.failed();
    }

    /// A call ended after `nanos`.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn ended(&self, nanos: u64) {
        #[cfg(feature = "metrics")]
        self.facade.ended(nanos);
    }
}

/// A breaker moved from `from` to `to`. A per-key breaker is counted under its
/// function's name, and has a state series of its own only with `per_key_metrics`.
/// A breaker opening or turning half-open is told to the listener of [`on_open_or_probe`].
#[cold]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn breaker_transition(
    breaker: &str,
    exported: Exported,
    from: BreakerState,
    to: BreakerState,
) {
    #[cfg(feature = "metrics")]
    crate::facade::breaker_state(breaker, exported, from, to);
    if to != BreakerState::Closed {
        if let Some(listener) = OPEN_OR_PROBE.get() {
            listener();
        }
    }
}

/// Who hears of breakers opening or turning half-open (the fleet's refresh, once
/// connected).
static OPEN_OR_PROBE: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Has `listener` called whenever a breaker opens or turns half-open (the first one set
/// stays).
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn on_open_or_probe(listener: fn()) {
    let _ = OPEN_OR_PROBE.set(listener);
}

/// A function's per-key breakers grew (`1`) or shrank (`-1`) by one closed breaker.
#[cold]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn breaker_keys(function: &'static str, change: i8) {
    #[cfg(feature = "metrics")]
    crate::facade::breaker_keys(function, BreakerState::Closed, f64::from(change));
}

/// A breaker turned a call away: on the path an open breaker makes hot, so nothing at
/// all without an exporter.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn breaker_rejected(breaker: &str) {
    #[cfg(feature = "metrics")]
    crate::facade::breaker_rejection(breaker);
}

/// A rate limiter turned a call away.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn rate_limited(limiter: &str) {
    #[cfg(feature = "metrics")]
    crate::facade::rate_limited(limiter);
}

/// A bulkhead turned a call away.
#[cold]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn bulkhead_rejected(bulkhead: &str, reason: crate::FullReason) {
    #[cfg(feature = "metrics")]
    crate::facade::bulkhead_rejected(bulkhead, reason);
}

/// A retrying call took a step worth counting.
#[cold]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn retry(function: &'static str, what: Count) {
    #[cfg(feature = "metrics")]
    crate::facade::retry(function, what);
}

/// A cache answered a call (`hit`) or did not.
#[cfg(feature = "cache")]
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn cache_lookup(cache: &str, hit: bool) {
    #[cfg(feature = "metrics")]
    crate::facade::cache_lookup(cache, hit);
}

/// A fallback ran.
#[cold]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn fallback(function: &'static str) {
    #[cfg(feature = "metrics")]
    crate::facade::fallback(function);
}

/// A deadline passed.
#[cold]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn timed_out(function: &'static str) {
    #[cfg(feature = "metrics")]
    crate::facade::timed_out(function);
}
