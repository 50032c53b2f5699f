//! Everything steadfast counts, as values ([`snapshot`]) and as Prometheus text
//! ([`prometheus`]).
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `steadfast_calls_total` | counter | `function` | calls of a `#[monitored]` function |
//! | `steadfast_errors_total` | counter | `function` | calls that returned `Err` or panicked |
//! | `steadfast_in_flight` | gauge | `function` | calls started and not yet ended |
//! | `steadfast_call_duration_seconds` | histogram | `function` | latency of every ended call |
//! | `steadfast_breaker_state` | gauge | `breaker` | 0 closed, 1 open, 2 half-open |
//! | `steadfast_breaker_keys` | gauge | `breaker`, `state` | per-key breakers (`key = …`) of a function in each state (`closed`, `open`, `half_open`) |
//! | `steadfast_breaker_rejections_total` | counter | `breaker` | calls rejected while open |
//! | `steadfast_breaker_transitions_total` | counter | `breaker` | state changes |
//!
//! The per-key breakers of a function (`#[circuit_breaker(key = host)]`) are exported as
//! figures of the function, labelled with its breaker name (`breaker="fleet::ping"`): keys
//! per state, and the rejections and transitions of all its keys (evicted ones included),
//! so a function with a thousand hosts is a handful of series. With `per_key_metrics` on
//! the attribute, each key also has its own `steadfast_breaker_state{breaker, key}` series:
//! opt in only where keys are few and known (hosts of a cluster, not user ids).
//! | `steadfast_retry_attempts_total` | counter | `function` | attempts after the first |
//! | `steadfast_retry_gate_waits_total` | counter | `function` | waits on a gate below the retry (an open breaker), no attempt spent |
//! | `steadfast_retry_exhausted_total` | counter | `function` | calls that ran out of attempts or time |
//! | `steadfast_timeouts_total` | counter | `function` | calls whose deadline passed |
//! | `steadfast_fallbacks_total` | counter | `function` | calls whose `#[fallback]` ran |
//! | `steadfast_cache_hits_total` | counter | `cache` | calls a `#[cached]` function answered from its cache (feature `cache`) |
//! | `steadfast_cache_misses_total` | counter | `cache` | calls it did not |
//! | `steadfast_cache_entries` | gauge | `cache` | entries held |
//! | `steadfast_bulkhead_in_use` | gauge | `bulkhead` | calls inside a `#[bulkhead]` |
//! | `steadfast_bulkhead_queued` | gauge | `bulkhead` | calls waiting for a slot |
//! | `steadfast_bulkhead_rejections_total` | counter | `bulkhead`, `reason` | calls turned away (`full`, `queue_full`, `waited_out`) |
//! | `steadfast_rate_limited_total` | counter | `limiter` | calls a `#[rate_limit]` turned away |
//! | `steadfast_rate_limit_admitted_total` | counter | `limiter` | calls it admitted (those that waited for their turn included) |
//! | `steadfast_breaker_critical` | gauge | `breaker` | 1 for a breaker marked `critical`, else 0 (for alert rules) |
//! | `steadfast_task_state` | gauge | `task` | a `#[supervised]` task: 0 running, 1 backing off, 2 stopped, 3 failed |
//! | `steadfast_task_restarts_total` | counter | `task` | its restarts |
//! | `steadfast_draining` | gauge | | 1 while `steadfast::drain` runs |
//! | `steadfast_drain_in_flight_at_start` | gauge | `function` | calls in flight when the drain began |
//! | `steadfast_drain_left` | gauge | `function` | calls still in flight when it returned |
//!
//! Serve [`prometheus`] on `/metrics` with any HTTP server; the `service` example does it
//! with axum.

use std::fmt::Write as _;
use std::time::Duration;

use crate::breaker::KeyedSummary;
pub use crate::figures::{BulkheadMetrics, CacheMetrics, RateLimitMetrics, RetryMetrics};
pub use crate::figures::{DrainMetrics, FunctionMetrics, Latency};
use crate::labels::key_of;
pub use crate::task::TaskMetrics;
use crate::{Breaker, BreakerState};

/// Every function's figures, as values: one entry per `#[monitored]` function called so
/// far (functions given one `name` share it), with the figures of its `#[retry]`,
/// `#[timeout]`, `#[bulkhead]` and `#[rate_limit]`; a function with any of those and no
/// `#[monitored]` has an entry of its own once they moved (its call figures are zero). A
/// bulkhead or rate limiter shared by `name` shows the same figures in the entry of each
/// function that uses it. Breakers are read through [`breakers()`](crate::breakers).
///
/// ```
/// for m in steadfast::metrics::snapshot() {
///     println!("{}: {} calls, {} errors, p99 {:?}", m.name, m.calls, m.errors, m.latency.p99);
///     if let Some(retry) = m.retry {
///         println!("  {} retries, {} gave up", retry.retries, retry.exhausted);
///     }
///     if let Some(b) = &m.bulkhead {
///         println!("  bulkhead {}: {} of {} in use, {} queued", b.name, b.in_use, b.limit, b.queued);
///     }
/// }
/// ```
pub fn snapshot() -> Vec<FunctionMetrics> {
    let mut all = crate::figures::snapshot();
    for task in crate::tasks() {
        let at = match all.iter().position(|f| f.name == task.function()) {
            Some(at) => at,
            None => {
                all.push(crate::figures::empty(task.function()));
                all.len() - 1
            }
        };
        all[at].task = Some(task.metrics());
    }
    if crate::drain::begun() {
        let progress = crate::drain::progress();
        for f in all.iter_mut().filter(|f| f.monitored) {
            let (at_start, left) = progress
                .iter()
                .find(|(name, _, _)| *name == f.name)
                .map_or((0, None), |(_, at_start, left)| (*at_start, *left));
            let done = !crate::drain::in_progress();
            f.drain = Some(DrainMetrics {
                in_flight_at_start: at_start,
                left_at_end: if done { Some(left.unwrap_or(0)) } else { None },
                cancelled: f.drain_cancelled,
            });
        }
    }
    all
}

/// The `le` bounds of `steadfast_call_duration_seconds`, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
];

/// Every figure in the Prometheus text exposition format (version 0.0.4), ready to serve
/// on `/metrics`; it passes `promtool check metrics`.
///
/// ```
/// let text = steadfast::metrics::prometheus();
/// assert!(text.contains("# TYPE steadfast_calls_total counter"));
/// ```
pub fn prometheus() -> String {
    let all = snapshot();
    let functions: Vec<&FunctionMetrics> = all.iter().filter(|f| f.monitored).collect();
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, lines: &mut dyn FnMut(&mut String)| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        lines(&mut out);
    };

    family(
        "steadfast_calls_total",
        "counter",
        "Calls of a #[monitored] function.",
        &mut |o| {
            for f in &functions {
                let _ = writeln!(
                    o,
                    "steadfast_calls_total{{function=\"{}\"}} {}",
                    escape(&f.name),
                    f.calls
                );
            }
        },
    );
    family(
        "steadfast_errors_total",
        "counter",
        "Calls of a #[monitored] function that returned Err or panicked.",
        &mut |o| {
            for f in &functions {
                let _ = writeln!(
                    o,
                    "steadfast_errors_total{{function=\"{}\"}} {}",
                    escape(&f.name),
                    f.errors
                );
            }
        },
    );
    family(
        "steadfast_in_flight",
        "gauge",
        "Calls of a #[monitored] function started and not yet ended.",
        &mut |o| {
            for f in &functions {
                let _ = writeln!(
                    o,
                    "steadfast_in_flight{{function=\"{}\"}} {}",
                    escape(&f.name),
                    f.in_flight
                );
            }
        },
    );
    family(
        "steadfast_call_duration_seconds",
        "histogram",
        "Latency of the ended calls of a #[monitored] function.",
        &mut |o| {
            for f in &functions {
                let name = escape(&f.name);
                for le in BUCKETS {
                    let count = f.count_at_most(Duration::from_secs_f64(*le));
                    let _ = writeln!(
                        o,
                        "steadfast_call_duration_seconds_bucket{{function=\"{name}\",le=\"{le}\"}} {count}"
                    );
                }
                let ended = f.ended();
                let _ = writeln!(
                    o,
                    "steadfast_call_duration_seconds_bucket{{function=\"{name}\",le=\"+Inf\"}} {ended}"
                );
                let _ = writeln!(
                    o,
                    "steadfast_call_duration_seconds_sum{{function=\"{name}\"}} {}",
                    f.latency_sum.as_secs_f64()
                );
                let _ = writeln!(
                    o,
                    "steadfast_call_duration_seconds_count{{function=\"{name}\"}} {ended}"
                );
            }
        },
    );

    // Per-key breakers are figures of their function (keys per state, rejections,
    // transitions): a function with a thousand keys is a few series, not thousands.
    let (single, keyed) = crate::breaker::by_function();
    let groups: Vec<KeyedSummary> = keyed.iter().map(|k| k.summary()).collect();
    let per_key: Vec<(&'static str, Vec<Breaker>)> = keyed
        .iter()
        .zip(&groups)
        .filter(|(_, group)| group.per_key_metrics)
        .map(|(k, group)| {
            let mut all = Vec::new();
            k.collect_into(&mut all);
            (group.name, all)
        })
        .collect();
    family(
        "steadfast_breaker_state",
        "gauge",
        "State of a circuit breaker: 0 closed, 1 open, 2 half-open.",
        &mut |o| {
            for b in &single {
                let _ = writeln!(
                    o,
                    "steadfast_breaker_state{{breaker=\"{}\"}} {}",
                    escape(b.name()),
                    state_value(b.state())
                );
            }
            for (function, breakers) in &per_key {
                for b in breakers {
                    let _ = writeln!(
                        o,
                        "steadfast_breaker_state{{breaker=\"{}\",key=\"{}\"}} {}",
                        escape(function),
                        escape(key_of(b.name(), function)),
                        state_value(b.state())
                    );
                }
            }
        },
    );
    family(
        "steadfast_breaker_critical",
        "gauge",
        "1 for a circuit breaker marked critical (open, it makes the process unhealthy), else 0.",
        &mut |o| {
            for b in &single {
                let _ = writeln!(
                    o,
                    "steadfast_breaker_critical{{breaker=\"{}\"}} {}",
                    escape(b.name()),
                    u8::from(b.is_critical())
                );
            }
            for g in &groups {
                let _ = writeln!(
                    o,
                    "steadfast_breaker_critical{{breaker=\"{}\"}} {}",
                    escape(g.name),
                    u8::from(g.critical)
                );
            }
        },
    );
    family(
        "steadfast_breaker_keys",
        "gauge",
        "Per-key circuit breakers of a function (key = ...) in each state.",
        &mut |o| {
            for g in &groups {
                let name = escape(g.name);
                for (state, n) in [
                    ("closed", g.closed),
                    ("open", g.open),
                    ("half_open", g.half_open),
                ] {
                    let _ = writeln!(
                        o,
                        "steadfast_breaker_keys{{breaker=\"{name}\",state=\"{state}\"}} {n}"
                    );
                }
            }
        },
    );
    family(
        "steadfast_breaker_rejections_total",
        "counter",
        "Calls a circuit breaker rejected without running them (per-key breakers: all keys of the function).",
        &mut |o| {
            for b in &single {
                let _ = writeln!(
                    o,
                    "steadfast_breaker_rejections_total{{breaker=\"{}\"}} {}",
                    escape(b.name()),
                    b.rejections()
                );
            }
            for g in &groups {
                let _ = writeln!(
                    o,
                    "steadfast_breaker_rejections_total{{breaker=\"{}\"}} {}",
                    escape(g.name),
                    g.rejections
                );
            }
        },
    );
    family(
        "steadfast_breaker_transitions_total",
        "counter",
        "State changes of a circuit breaker (per-key breakers: all keys of the function).",
        &mut |o| {
            for b in &single {
                let _ = writeln!(
                    o,
                    "steadfast_breaker_transitions_total{{breaker=\"{}\"}} {}",
                    escape(b.name()),
                    b.transitions()
                );
            }
            for g in &groups {
                let _ = writeln!(
                    o,
                    "steadfast_breaker_transitions_total{{breaker=\"{}\"}} {}",
                    escape(g.name),
                    g.transitions
                );
            }
        },
    );

    let bulkheads = crate::bulkheads();
    for (name, help, read) in [
        (
            "steadfast_bulkhead_in_use",
            "Calls inside a #[bulkhead].",
            (|b: &crate::Bulkhead| u64::from(b.in_use())) as fn(&crate::Bulkhead) -> u64,
        ),
        (
            "steadfast_bulkhead_queued",
            "Calls waiting for a slot of a #[bulkhead].",
            |b| u64::from(b.queued()),
        ),
    ] {
        family(name, "gauge", help, &mut |o| {
            for b in &bulkheads {
                let _ = writeln!(o, "{name}{{bulkhead=\"{}\"}} {}", escape(b.name()), read(b));
            }
        });
    }
    family(
        "steadfast_bulkhead_rejections_total",
        "counter",
        "Calls a #[bulkhead] turned away, by reason.",
        &mut |o| {
            for b in &bulkheads {
                for reason in [
                    crate::FullReason::Full,
                    crate::FullReason::QueueFull,
                    crate::FullReason::WaitedOut,
                ] {
                    let _ = writeln!(
                        o,
                        "steadfast_bulkhead_rejections_total{{bulkhead=\"{}\",reason=\"{}\"}} {}",
                        escape(b.name()),
                        reason.as_str(),
                        b.rejected(reason)
                    );
                }
            }
        },
    );
    let limiters = crate::rate_limiters();
    family(
        "steadfast_rate_limited_total",
        "counter",
        "Calls a #[rate_limit] turned away.",
        &mut |o| {
            for l in &limiters {
                let _ = writeln!(
                    o,
                    "steadfast_rate_limited_total{{limiter=\"{}\"}} {}",
                    escape(l.name()),
                    l.limited()
                );
            }
        },
    );
    family(
        "steadfast_rate_limit_admitted_total",
        "counter",
        "Calls a #[rate_limit] admitted, those that waited for their turn included.",
        &mut |o| {
            for l in &limiters {
                let _ = writeln!(
                    o,
                    "steadfast_rate_limit_admitted_total{{limiter=\"{}\"}} {}",
                    escape(l.name()),
                    l.admitted()
                );
            }
        },
    );
    let retries: Vec<(&str, RetryMetrics)> = all
        .iter()
        .filter_map(|f| f.retry.map(|r| (f.name.as_str(), r)))
        .collect();
    for (name, help, read) in [
        (
            "steadfast_retry_attempts_total",
            "Attempts of a #[retry] function after the first.",
            (|r: &RetryMetrics| r.retries) as fn(&RetryMetrics) -> u64,
        ),
        (
            "steadfast_retry_gate_waits_total",
            "Waits of a #[retry] function on a gate below it that turned the call away (no attempt spent).",
            |r| r.gate_waits,
        ),
        (
            "steadfast_retry_exhausted_total",
            "Calls of a #[retry] function that ran out of attempts or time.",
            |r| r.exhausted,
        ),
    ] {
        family(name, "counter", help, &mut |o| {
            for (function, r) in &retries {
                let _ = writeln!(o, "{name}{{function=\"{}\"}} {}", escape(function), read(r));
            }
        });
    }
    family(
        "steadfast_timeouts_total",
        "counter",
        "Calls of a #[timeout] function whose deadline passed.",
        &mut |o| {
            for f in &all {
                if let Some(elapsed) = f.timeouts {
                    let _ = writeln!(
                        o,
                        "steadfast_timeouts_total{{function=\"{}\"}} {elapsed}",
                        escape(&f.name),
                    );
                }
            }
        },
    );
    let caches: Vec<&crate::figures::CacheMetrics> = {
        let mut seen: Vec<&crate::figures::CacheMetrics> = Vec::new();
        for c in all.iter().filter_map(|f| f.cache.as_ref()) {
            if !seen.iter().any(|s| s.name == c.name) {
                seen.push(c);
            }
        }
        seen
    };
    for (name, kind, help, read) in [
        (
            "steadfast_cache_hits_total",
            "counter",
            "Calls a #[cached] function answered from its cache.",
            (|c: &crate::figures::CacheMetrics| c.hits) as fn(&crate::figures::CacheMetrics) -> u64,
        ),
        (
            "steadfast_cache_misses_total",
            "counter",
            "Calls of a #[cached] function not answered from its cache.",
            |c| c.misses,
        ),
        (
            "steadfast_cache_entries",
            "gauge",
            "Entries held by a #[cached] function's cache.",
            |c| c.entries,
        ),
    ] {
        family(name, kind, help, &mut |o| {
            for c in &caches {
                let _ = writeln!(o, "{name}{{cache=\"{}\"}} {}", escape(&c.name), read(c));
            }
        });
    }
    family(
        "steadfast_fallbacks_total",
        "counter",
        "Calls of a #[fallback] function whose fallback ran.",
        &mut |o| {
            for f in &all {
                if let Some(taken) = f.fallbacks {
                    let _ = writeln!(
                        o,
                        "steadfast_fallbacks_total{{function=\"{}\"}} {taken}",
                        escape(&f.name),
                    );
                }
            }
        },
    );
    let tasks = crate::tasks();
    family(
        "steadfast_task_state",
        "gauge",
        "State of a #[supervised] task: 0 running, 1 backing off, 2 stopped, 3 failed.",
        &mut |o| {
            for t in &tasks {
                let _ = writeln!(
                    o,
                    "steadfast_task_state{{task=\"{}\"}} {}",
                    escape(t.name()),
                    t.state().as_number()
                );
            }
        },
    );
    family(
        "steadfast_task_restarts_total",
        "counter",
        "Restarts of a #[supervised] task.",
        &mut |o| {
            for t in &tasks {
                let _ = writeln!(
                    o,
                    "steadfast_task_restarts_total{{task=\"{}\"}} {}",
                    escape(t.name()),
                    t.restarts()
                );
            }
        },
    );
    let draining = crate::drain::in_progress();
    family(
        "steadfast_draining",
        "gauge",
        "1 while steadfast::drain runs, else 0.",
        &mut |o| {
            let _ = writeln!(o, "steadfast_draining {}", u8::from(draining));
        },
    );
    let progress = crate::drain::progress();
    family(
        "steadfast_drain_in_flight_at_start",
        "gauge",
        "Calls of a #[monitored] function in flight when the drain began.",
        &mut |o| {
            for (name, at_start, _) in &progress {
                let _ = writeln!(
                    o,
                    "steadfast_drain_in_flight_at_start{{function=\"{}\"}} {at_start}",
                    escape(name)
                );
            }
        },
    );
    family(
        "steadfast_drain_left",
        "gauge",
        "Calls of a #[monitored] function still in flight when the drain returned.",
        &mut |o| {
            for (name, _, left) in &progress {
                if let Some(left) = left {
                    let _ = writeln!(
                        o,
                        "steadfast_drain_left{{function=\"{}\"}} {left}",
                        escape(name)
                    );
                }
            }
        },
    );
    out
}

fn state_value(state: BreakerState) -> u8 {
    match state {
        BreakerState::Closed => 0,
        BreakerState::Open => 1,
        BreakerState::HalfOpen => 2,
    }
}

/// A label value as the exposition format wants it: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_are_escaped() {
        assert_eq!(super::escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
