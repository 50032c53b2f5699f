//! Feature `metrics`: every figure also goes to the `metrics` crate facade, under the
//! same names and labels as [`prometheus`](crate::metrics::prometheus), so any exporter of
//! that ecosystem works. Handles are taken once per function or breaker, at its first use,
//! so install the recorder before then.

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};

use crate::BreakerState;
use crate::figures::Count;
use crate::labels::{Exported, key_of};

/// The handles of one `#[monitored]` function.
#[derive(Debug)]
pub(crate) struct FunctionHandles {
    pub(crate) calls: Counter,
    pub(crate) errors: Counter,
    pub(crate) in_flight: Gauge,
    pub(crate) duration: Histogram,
}

impl FunctionHandles {
    pub(crate) fn new(function: &'static str) -> Self {
        FunctionHandles {
            calls: counter!("steadfast_calls_total", "function" => function),
            errors: counter!("steadfast_errors_total", "function" => function),
            in_flight: gauge!("steadfast_in_flight", "function" => function),
            duration: histogram!("steadfast_call_duration_seconds", "function" => function),
        }
    }

    pub(crate) fn started(&self) {
        self.calls.increment(1);
        self.in_flight.increment(1.0);
    }

    pub(crate) fn failed(&self) {
        self.errors.increment(1);
    }

    pub(crate) fn ended(&self, nanos: u64) {
        self.duration.record(nanos as f64 / 1e9);
        self.in_flight.decrement(1.0);
    }
}

/// A breaker's state changed. A per-key breaker moves its function's keys-per-state
/// gauges and counts under the function's name; its own state series exists only with
/// `per_key_metrics`.
pub(crate) fn breaker_state(
    breaker: &str,
    exported: Exported,
    from: BreakerState,
    to: BreakerState,
) {
    let value = match to {
        BreakerState::Closed => 0.0,
        BreakerState::Open => 1.0,
        BreakerState::HalfOpen => 2.0,
    };
    match exported {
        Exported::Unkept { .. } => {}
        Exported::Own => {
            gauge!("steadfast_breaker_state", "breaker" => breaker.to_owned()).set(value);
        }
        Exported::Key {
            function,
            per_key_metrics,
        } => {
            breaker_keys(function, from, -1.0);
            breaker_keys(function, to, 1.0);
            if per_key_metrics {
                let key = key_of(breaker, function).to_owned();
                gauge!("steadfast_breaker_state", "breaker" => function, "key" => key).set(value);
            }
        }
    }
    counter!("steadfast_breaker_transitions_total", "breaker" => exported.label(breaker).to_owned())
        .increment(1);
}

/// `steadfast_breaker_keys{breaker, state}`: how many per-key breakers of a function are
/// in `state`.
pub(crate) fn breaker_keys(function: &'static str, state: BreakerState, change: f64) {
    let state = match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
    };
    gauge!("steadfast_breaker_keys", "breaker" => function, "state" => state).increment(change);
}

/// A breaker rejected a call.
pub(crate) fn breaker_rejection(breaker: &str) {
    counter!("steadfast_breaker_rejections_total", "breaker" => breaker.to_owned()).increment(1);
}

/// A rate limiter rejected a call.
pub(crate) fn rate_limited(limiter: &str) {
    counter!("steadfast_rate_limited_total", "limiter" => limiter.to_owned()).increment(1);
}

/// The gauges of one bulkhead, moved as calls enter, wait and leave.
#[derive(Debug)]
pub(crate) struct BulkheadHandles {
    in_use: Gauge,
    queued: Gauge,
}

impl BulkheadHandles {
    pub(crate) fn new(bulkhead: &str) -> Self {
        BulkheadHandles {
            in_use: gauge!("steadfast_bulkhead_in_use", "bulkhead" => bulkhead.to_owned()),
            queued: gauge!("steadfast_bulkhead_queued", "bulkhead" => bulkhead.to_owned()),
        }
    }

    pub(crate) fn moved(&self, in_use: i8, queued: i8) {
        if in_use != 0 {
            self.in_use.increment(f64::from(in_use));
        }
        if queued != 0 {
            self.queued.increment(f64::from(queued));
        }
    }
}

/// A bulkhead rejected a call.
pub(crate) fn bulkhead_rejected(bulkhead: &str, reason: crate::FullReason) {
    counter!("steadfast_bulkhead_rejections_total", "bulkhead" => bulkhead.to_owned(), "reason" => reason.as_str())
        .increment(1);
}

/// A retrying call took a step: another attempt, a wait on a gate, or giving up.
pub(crate) fn retry(function: &'static str, what: Count) {
    let name = match what {
        Count::Retry => "steadfast_retry_attempts_total",
        Count::WaitOutGate => "steadfast_retry_gate_waits_total",
        Count::Exhausted => "steadfast_retry_exhausted_total",
        Count::Nothing => return,
    };
    counter!(name, "function" => function).increment(1);
}

/// A deadline passed.
pub(crate) fn timed_out(function: &'static str) {
    counter!("steadfast_timeouts_total", "function" => function).increment(1);
}

/// A fallback ran.
pub(crate) fn fallback(function: &'static str) {
    counter!("steadfast_fallbacks_total", "function" => function).increment(1);
}

/// A cache answered a call, or did not.
#[cfg(feature = "cache")]
pub(crate) fn cache_lookup(cache: &str, hit: bool) {
    let name = if hit {
        "steadfast_cache_hits_total"
    } else {
        "steadfast_cache_misses_total"
    };
    counter!(name, "cache" => cache.to_owned()).increment(1);
}

/// A supervised task restarted.
pub(crate) fn task_restarted(task: &str) {
    counter!("steadfast_task_restarts_total", "task" => task.to_owned()).increment(1);
}

/// A supervised task moved to `state`.
pub(crate) fn task_state(task: &str, state: crate::TaskState) {
    gauge!("steadfast_task_state", "task" => task.to_owned()).set(f64::from(state.as_number()));
}

/// A drain began (`true`) or returned.
pub(crate) fn draining(on: bool) {
    gauge!("steadfast_draining").set(if on { 1.0 } else { 0.0 });
}

/// A function's calls in flight when a drain began, or left when it returned.
pub(crate) fn drain_progress(function: &str, at_start: bool, calls: u64) {
    let name = if at_start {
        "steadfast_drain_in_flight_at_start"
    } else {
        "steadfast_drain_left"
    };
    gauge!(name, "function" => function.to_owned()).set(calls as f64);
}
