//! [`health`]: one answer for `/health`, from the breakers and the monitored functions.
//! The rules are on [`health`] itself, the public page.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::BreakerState;
use crate::clock::{Clock, Nanos, SystemClock};

/// How healthy the process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HealthStatus {
    /// Every dependency answers.
    Healthy,
    /// Working, with a dependency failing or a function failing often.
    Degraded,
    /// Something marked `critical` is down: serve 503.
    Unhealthy,
}

impl HealthStatus {
    /// As in JSON: `"healthy"`, `"degraded"`, `"unhealthy"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// The answer of [`health`].
///
/// ```
/// let h = steadfast::health();
/// let body = h.to_json(); // {"status":"healthy","reasons":[]}
/// let code = h.http_status(); // 200, or 503 when unhealthy
/// # assert!(body.starts_with("{\"status\":"));
/// # assert!(code == 200 || code == 503);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The verdict.
    pub status: HealthStatus,
    /// Why it is not healthy, one line per breaker or function (per-key breakers are one
    /// line per function), the weightiest first, then in the order of names.
    pub reasons: Vec<String>,
}

impl Health {
    /// The HTTP status to serve: 200 when healthy or degraded (the process still serves),
    /// 503 when unhealthy.
    pub fn http_status(&self) -> u16 {
        match self.status {
            HealthStatus::Unhealthy => 503,
            _ => 200,
        }
    }

    /// `{"status":"degraded","reasons":["circuit breaker `payments` is open"]}`
    pub fn to_json(&self) -> String {
        let mut out = format!("{{\"status\":\"{}\",\"reasons\":[", self.status.as_str());
        for (i, reason) in self.reasons.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            crate::text::json_string(&mut out, reason);
        }
        out.push_str("]}");
        out
    }
}

/// Error rate at which a function makes the process degraded.
const ERROR_RATE: f64 = 0.5;
/// Calls a function must have ended in the window for its rate to count.
const MINIMUM_CALLS: u64 = 10;
const WINDOW: Duration = Duration::from_secs(60);

/// Two running totals of a part, read at `at`: calls, and the bad ones among them.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Nanos,
    calls: u64,
    bad: u64,
}

/// What a sample history belongs to (a function and a bulkhead may share a name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Part {
    Function,
    Bulkhead,
}

type Samples = HashMap<(Part, String), VecDeque<Sample>>;

static SAMPLES: Mutex<Option<Samples>> = Mutex::new(None);

/// The share of bad calls, in percent, when at least [`MINIMUM_CALLS`] were made and at
/// least [`ERROR_RATE`] of them were bad.
fn mostly_bad(calls: u64, bad: u64) -> Option<f64> {
    (calls >= MINIMUM_CALLS && bad as f64 >= ERROR_RATE * calls as f64)
        .then(|| 100.0 * bad as f64 / calls as f64)
}

/// Calls and bad calls of a part over the last [`WINDOW`], from its running totals now and
/// a sample kept at least a window ago (from the start, before the first window passed).
fn recent(
    samples: &mut Samples,
    part: Part,
    name: &str,
    now: Nanos,
    calls: u64,
    bad: u64,
) -> (u64, u64) {
    let history = samples.entry((part, name.to_owned())).or_default();
    // Keep the newest sample that is at least a minute old as the baseline.
    while history
        .get(1)
        .is_some_and(|s| now.saturating_sub(s.at) >= WINDOW)
    {
        history.pop_front();
    }
    let base = history
        .front()
        .copied()
        .filter(|s| now.saturating_sub(s.at) >= WINDOW)
        .unwrap_or(Sample {
            at: Nanos(0),
            calls: 0,
            bad: 0,
        });
    if history
        .back()
        .is_none_or(|s| now.saturating_sub(s.at) >= Duration::from_secs(1))
    {
        history.push_back(Sample {
            at: now,
            calls,
            bad,
        });
    }
    (
        calls.saturating_sub(base.calls),
        bad.saturating_sub(base.bad),
    )
}

/// How healthy the process is now: the verdict to serve on `/health`, with a reason for
/// every part that is not well.
///
/// A dependency's outage must not get healthy processes killed: a 503 tells an
/// orchestrator to restart the process, which does not bring a dependency back. So only
/// what is marked `critical` can make the process [`Unhealthy`](HealthStatus::Unhealthy):
///
/// | what | verdict |
/// |---|---|
/// | a `#[circuit_breaker(critical)]` that is open (one key of it, for a per-key breaker) | **Unhealthy** (503) |
/// | any other open or half-open breaker (a critical one half-open included: it is probing) | Degraded (200) |
/// | a `#[monitored]` function that failed at least half of at least 10 calls over the last minute | Degraded (200) |
/// | a `#[bulkhead]` that turned away at least half of at least 10 calls over the last minute | Degraded (200) |
/// | a `#[supervised(critical)]` task that gave up | **Unhealthy** (503) |
/// | any other supervised task that gave up (the reason has its last error) | Degraded (200) |
/// | a drain has begun ([`drain`](crate::drain)): the reason `draining`, first | **Unhealthy** (503) |
/// | nothing of the above | Healthy (200) |
///
/// The per-key breakers of a function (`key = …`) are one reason for the function,
/// however many keys are open: `3 of 40 keys of `fleet::ping` are open`. Every reason
/// names the breaker, function or bulkhead and the figure behind it; reasons that make the
/// process unhealthy come first, then the breakers', then the functions' and bulkheads',
/// in the order of their text.
///
/// "The last minute" is measured between calls of `health`: each call keeps a sample of
/// every function's counters (at most one a second), and compares with the newest sample
/// at least a minute old; until there is one, with the process start. Poll it regularly,
/// as a health check does.
///
/// ```
/// let h = steadfast::health();
/// match h.status {
///     steadfast::HealthStatus::Unhealthy => eprintln!("503: {:?}", h.reasons),
///     _ => {} // 200: degraded still serves
/// }
/// ```
pub fn health() -> Health {
    let mut status = HealthStatus::Healthy;
    let mut critical = Vec::new();
    let mut reasons = Vec::new();

    // In the order of names, not of registration (which depends on the order in which the
    // linker and the first calls met them).
    let (mut single, keyed) = crate::breaker::by_function();
    single.sort_by(|a, b| a.name().cmp(b.name()));
    let mut keyed: Vec<_> = keyed.iter().map(|k| k.summary()).collect();
    keyed.sort_by(|a, b| a.name.cmp(b.name));
    for b in &single {
        let state = b.state();
        match (state, b.is_critical()) {
            (BreakerState::Closed, _) => {}
            (BreakerState::Open, true) => {
                status = HealthStatus::Unhealthy;
                critical.push(format!("critical circuit breaker `{}` is open", b.name()));
            }
            (state, is_critical) => {
                status = status.max(HealthStatus::Degraded);
                let what = if is_critical { "critical " } else { "" };
                reasons.push(format!("{what}circuit breaker `{}` is {state}", b.name()));
            }
        }
    }
    for group in keyed {
        if group.open + group.half_open == 0 {
            continue;
        }
        let mut line = format!(
            "{} of {} keys of `{}` {} open",
            group.open,
            group.keys(),
            group.name,
            if group.open == 1 { "is" } else { "are" }
        );
        if group.half_open > 0 {
            let _ = write!(line, ", {} half-open", group.half_open);
        }
        if group.critical && group.open > 0 {
            status = HealthStatus::Unhealthy;
            critical.push(format!("critical: {line}"));
        } else {
            status = status.max(HealthStatus::Degraded);
            reasons.push(line);
        }
    }
    for task in crate::tasks() {
        if task.state() != crate::TaskState::Failed {
            continue;
        }
        let last = task
            .last_error()
            .map_or_else(String::new, |e| format!("; last error: {e}"));
        if task.is_critical() {
            status = HealthStatus::Unhealthy;
            critical.push(format!("critical task `{}` gave up{last}", task.name()));
        } else {
            status = status.max(HealthStatus::Degraded);
            reasons.push(format!("task `{}` gave up{last}", task.name()));
        }
    }
    #[cfg(feature = "redis")]
    if let Some(reason) = crate::fleet::health_reason() {
        status = status.max(HealthStatus::Degraded);
        reasons.push(reason);
    }
    if crate::drain::begun() {
        status = HealthStatus::Unhealthy;
        critical.insert(0, "draining".to_owned());
    }
    critical.append(&mut reasons);
    let mut reasons = critical;
    let functions_from = reasons.len();

    let now = SystemClock.now();
    let mut samples = SAMPLES.lock().unwrap_or_else(PoisonError::into_inner);
    let samples = samples.get_or_insert_with(HashMap::new);
    let mut bulkheads_seen = Vec::new();
    for f in crate::metrics::snapshot() {
        let (ended, errors) = recent(samples, Part::Function, &f.name, now, f.ended(), f.errors);
        if let Some(share) = mostly_bad(ended, errors) {
            status = status.max(HealthStatus::Degraded);
            reasons.push(format!(
                "function `{}` failed {errors} of its last {ended} calls ({share:.0}%)",
                f.name,
            ));
        }
        // A bulkhead shared by name is in the entry of every function that uses it.
        let Some(b) = f.bulkhead.filter(|b| !bulkheads_seen.contains(&b.name)) else {
            continue;
        };
        let rejected = b.rejected_full + b.rejected_queue_full + b.rejected_waited_out;
        let (calls, rejected) = recent(
            samples,
            Part::Bulkhead,
            &b.name,
            now,
            b.admitted + rejected,
            rejected,
        );
        if let Some(share) = mostly_bad(calls, rejected) {
            status = status.max(HealthStatus::Degraded);
            reasons.push(format!(
                "bulkhead `{}` turned away {rejected} of its last {calls} calls ({share:.0}%)",
                b.name,
            ));
        }
        bulkheads_seen.push(b.name);
    }
    reasons[functions_from..].sort_unstable();
    Health { status, reasons }
}
