//! Feature `metrics`: every figure also goes to the `metrics` crate facade, under the
//! same names and labels as [`prometheus`](crate::metrics::prometheus), so any exporter of
//! that ecosystem works. Handles are taken once per function or breaker, at its first use,
//! so install the recorder before then.

use std::sync::OnceLock;

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};

/// The handles of one `#[monitored]` function.
#[derive(Debug)]
pub(crate) struct FunctionHandles {
    pub(crate) calls: Counter,
    pub(crate) errors: Counter,
    pub(crate) in_flight: Gauge,
    pub(crate) duration: Histogram,
}

impl FunctionHandles {
    pub(crate) fn get<'a>(
        slot: &'a OnceLock<FunctionHandles>,
        function: &'static str,
    ) -> &'a FunctionHandles {
        slot.get_or_init(|| FunctionHandles {
            calls: counter!("steadfast_calls_total", "function" => function),
            errors: counter!("steadfast_errors_total", "function" => function),
            in_flight: gauge!("steadfast_in_flight", "function" => function),
            duration: histogram!("steadfast_call_duration_seconds", "function" => function),
        })
    }
}

/// A breaker's state changed.
pub(crate) fn breaker_state(breaker: &str, state: crate::BreakerState) {
    let value = match state {
        crate::BreakerState::Closed => 0.0,
        crate::BreakerState::Open => 1.0,
        crate::BreakerState::HalfOpen => 2.0,
    };
    gauge!("steadfast_breaker_state", "breaker" => breaker.to_owned()).set(value);
    counter!("steadfast_breaker_transitions_total", "breaker" => breaker.to_owned()).increment(1);
}

/// A breaker rejected a call.
pub(crate) fn breaker_rejection(breaker: &str) {
    counter!("steadfast_breaker_rejections_total", "breaker" => breaker.to_owned()).increment(1);
}

/// A retry is about to run another attempt.
pub(crate) fn retried(function: &'static str) {
    counter!("steadfast_retry_attempts_total", "function" => function).increment(1);
}

/// A retrying call gave up.
pub(crate) fn exhausted(function: &'static str) {
    counter!("steadfast_retry_exhausted_total", "function" => function).increment(1);
}

/// A deadline passed.
pub(crate) fn timed_out(function: &'static str) {
    counter!("steadfast_timeouts_total", "function" => function).increment(1);
}
