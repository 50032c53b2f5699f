//! What an operator looks at during an incident: one self-contained HTML page
//! ([`html`]) and the same figures as JSON ([`json`]), from the figures of now. Both return
//! a `String`, so any HTTP framework serves them (the `service` example does, at
//! `/status` and `/status.json`).
//!
//! # The JSON
//!
//! One object; every duration in seconds (a number), every count an integer; lists in the
//! order of names. `version` is 1; a field added later does not change it, a field removed
//! or changed in meaning does.
//!
//! ```text
//! {
//!   "version": 1,
//!   "health": {"status": "healthy" | "degraded" | "unhealthy", "reasons": [string]},
//!   "draining": bool,
//!   "breakers": [{"name": string, "state": "closed" | "open" | "half_open",
//!                 "critical": bool, "in_state_seconds": number,
//!                 "last_failure": string | null, "rejections": int, "transitions": int}],
//!   "functions": [{"name": string, "calls": int, "successes": int, "errors": int,
//!                  "rejected": int, "cancelled": int, "in_flight": int,
//!                  "error_rate": number,           // errors / ended calls, 0 when none
//!                  "p50_seconds": number, "p99_seconds": number, "max_seconds": number}],
//!   "bulkheads": [{"name": string, "limit": int, "in_use": int, "queued": int,
//!                  "admitted": int, "rejected": int}],
//!   "rate_limiters": [{"name": string, "rate": int, "per_seconds": number,
//!                      "available": int, "admitted": int, "limited": int}],
//!   "caches": [{"name": string, "hits": int, "misses": int, "entries": int}],
//!   "tasks": [{"name": string, "state": "running" | "backing_off" | "stopped" | "failed",
//!              "critical": bool, "restarts": int, "last_error": string | null}]
//! }
//! ```
//!
//! `caches` is empty without the feature `cache`. Reading the page calls
//! [`health()`](crate::health), which keeps the samples of its "last minute": a page kept
//! open is enough to keep them.

use std::fmt::Write as _;
use std::time::Duration;

use crate::text::{html as h, json_string as j};
use crate::{BreakerState, TaskState};

/// How often the page reloads itself.
const REFRESH_SECONDS: u32 = 5;

/// Everything the page and the JSON show, read once.
struct Now {
    health: crate::Health,
    draining: bool,
    breakers: Vec<crate::Breaker>,
    functions: Vec<crate::metrics::FunctionMetrics>,
    bulkheads: Vec<crate::Bulkhead>,
    limiters: Vec<crate::RateLimiter>,
    caches: Vec<(String, u64, u64, u64)>,
    tasks: Vec<crate::Task>,
}

impl Now {
    fn read() -> Now {
        let health = crate::health();
        let mut breakers = crate::breakers();
        breakers.sort_by(|a, b| a.name().cmp(b.name()));
        let mut functions: Vec<_> = crate::metrics::snapshot()
            .into_iter()
            .filter(|f| f.monitored)
            .collect();
        functions.sort_by(|a, b| a.name.cmp(&b.name));
        let mut bulkheads = crate::bulkheads();
        bulkheads.sort_by(|a, b| a.name().cmp(b.name()));
        let mut limiters = crate::rate_limiters();
        limiters.sort_by(|a, b| a.name().cmp(b.name()));
        #[cfg(feature = "cache")]
        let mut caches: Vec<(String, u64, u64, u64)> = crate::caches()
            .into_iter()
            .map(|c| (c.name().to_owned(), c.hits(), c.misses(), c.len()))
            .collect();
        #[cfg(not(feature = "cache"))]
        let mut caches: Vec<(String, u64, u64, u64)> = Vec::new();
        caches.sort();
        Now {
            health,
            draining: crate::drain::begun(),
            breakers,
            functions,
            bulkheads,
            limiters,
            caches,
            tasks: crate::tasks(),
        }
    }
}

fn state_name(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
    }
}

fn task_state_name(state: TaskState) -> &'static str {
    match state {
        TaskState::Running => "running",
        TaskState::BackingOff { .. } => "backing_off",
        TaskState::Stopped => "stopped",
        TaskState::Failed => "failed",
    }
}

fn error_rate(f: &crate::metrics::FunctionMetrics) -> f64 {
    let ended = f.ended();
    if ended == 0 {
        0.0
    } else {
        f.errors as f64 / ended as f64
    }
}

fn bulkhead_rejected(b: &crate::Bulkhead) -> u64 {
    use crate::FullReason::*;
    [Full, QueueFull, WaitedOut]
        .into_iter()
        .map(|r| b.rejected(r))
        .sum()
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn opt_json(out: &mut String, value: Option<&str>) {
    match value {
        Some(v) => j(out, v),
        None => out.push_str("null"),
    }
}

/// Every figure as JSON, in the schema of the [module documentation](self).
///
/// ```
/// let json = steadfast::status::json();
/// assert!(json.starts_with("{\"version\":1,"));
/// ```
pub fn json() -> String {
    let now = Now::read();
    let mut o = String::with_capacity(1024);
    o.push_str("{\"version\":1,\"health\":{\"status\":");
    j(&mut o, now.health.status.as_str());
    o.push_str(",\"reasons\":[");
    for (i, r) in now.health.reasons.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        j(&mut o, r);
    }
    let _ = write!(o, "]}},\"draining\":{},\"breakers\":[", now.draining);
    for (i, b) in now.breakers.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"name\":");
        j(&mut o, b.name());
        let _ = write!(
            o,
            ",\"state\":\"{}\",\"critical\":{},\"in_state_seconds\":{:.3},\"last_failure\":",
            state_name(b.state()),
            b.is_critical(),
            seconds(b.in_state_for())
        );
        opt_json(&mut o, b.last_failure().as_deref());
        let _ = write!(
            o,
            ",\"rejections\":{},\"transitions\":{}}}",
            b.rejections(),
            b.transitions()
        );
    }
    o.push_str("],\"functions\":[");
    for (i, f) in now.functions.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"name\":");
        j(&mut o, &f.name);
        let _ = write!(
            o,
            ",\"calls\":{},\"successes\":{},\"errors\":{},\"rejected\":{},\"cancelled\":{},\"in_flight\":{},\"error_rate\":{:.4},\"p50_seconds\":{:.6},\"p99_seconds\":{:.6},\"max_seconds\":{:.6}}}",
            f.calls,
            f.successes,
            f.errors,
            f.rejected(),
            f.cancelled(),
            f.in_flight,
            error_rate(f),
            seconds(f.latency.p50),
            seconds(f.latency.p99),
            seconds(f.latency.max),
        );
    }
    o.push_str("],\"bulkheads\":[");
    for (i, b) in now.bulkheads.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"name\":");
        j(&mut o, b.name());
        let _ = write!(
            o,
            ",\"limit\":{},\"in_use\":{},\"queued\":{},\"admitted\":{},\"rejected\":{}}}",
            b.limit(),
            b.in_use(),
            b.queued(),
            b.admitted(),
            bulkhead_rejected(b)
        );
    }
    o.push_str("],\"rate_limiters\":[");
    for (i, l) in now.limiters.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"name\":");
        j(&mut o, l.name());
        let _ = write!(
            o,
            ",\"rate\":{},\"per_seconds\":{},\"available\":{},\"admitted\":{},\"limited\":{}}}",
            l.rate(),
            seconds(l.per()),
            l.available(),
            l.admitted(),
            l.limited()
        );
    }
    o.push_str("],\"caches\":[");
    for (i, (name, hits, misses, entries)) in now.caches.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"name\":");
        j(&mut o, name);
        let _ = write!(
            o,
            ",\"hits\":{hits},\"misses\":{misses},\"entries\":{entries}}}"
        );
    }
    o.push_str("],\"tasks\":[");
    for (i, t) in now.tasks.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"name\":");
        j(&mut o, t.name());
        let _ = write!(
            o,
            ",\"state\":\"{}\",\"critical\":{},\"restarts\":{},\"last_error\":",
            task_state_name(t.state()),
            t.is_critical(),
            t.restarts()
        );
        opt_json(&mut o, t.last_error().as_deref());
        o.push('}');
    }
    o.push_str("]}");
    o
}

/// "3m 12s", "45s", "820ms".
fn ago(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h {}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m {}s", s / 60, s % 60)
    } else if s >= 1 {
        format!("{s}s")
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// "1.2ms", "35µs", "2.10s".
fn latency(d: Duration) -> String {
    let n = d.as_nanos();
    if n >= 1_000_000_000 {
        format!("{:.2}s", d.as_secs_f64())
    } else if n >= 1_000_000 {
        format!("{:.1}ms", n as f64 / 1e6)
    } else if n >= 1_000 {
        format!("{:.0}µs", n as f64 / 1e3)
    } else {
        format!("{n}ns")
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1f24;background:#fafafa}\
h1{font-size:1.3em;margin:0 0 .6em}h2{font-size:1.05em;margin:1.6em 0 .4em}\
table{border-collapse:collapse;min-width:40em;background:#fff}\
th,td{text-align:left;padding:.3em .8em;border-bottom:1px solid #e3e3e3}\
th{font-weight:600;color:#555}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.verdict{display:inline-block;padding:.35em .9em;border-radius:4px;font-weight:700;color:#fff}\
.healthy,.closed,.running,.stopped{background:#1a7f37}.degraded,.half_open,.backing_off{background:#bf8700}\
.unhealthy,.open,.failed{background:#cf222e}\
.pill{display:inline-block;padding:.1em .6em;border-radius:3px;color:#fff;font-weight:600}\
.degraded-text{color:#cf222e;font-weight:600}ul{margin:.5em 0}.none{color:#777}.cause{font-family:ui-monospace,monospace;font-size:.92em}\
footer{margin-top:2em;color:#777;font-size:.85em}";

/// One self-contained HTML page of every figure, for a person during an incident: the
/// health verdict and its reasons at the top; every breaker with its state as a colour,
/// how long it has been so, its last failure and its rejections; every monitored function
/// with calls, error rate, p50 and p99; bulkheads, rate limiters, caches and tasks. No
/// script, font or style from elsewhere (it works offline and behind any proxy); it
/// reloads itself every 5 seconds.
///
/// ```
/// let page = steadfast::status::html();
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// ```
pub fn html() -> String {
    let now = Now::read();
    let mut o = String::with_capacity(4096);
    let verdict = now.health.status.as_str();
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{verdict} · steadfast status</title><style>{STYLE}</style></head><body>\
<h1>Status <span id=\"verdict\" class=\"verdict {verdict}\">{verdict}</span></h1>"
    );
    if now.health.reasons.is_empty() {
        o.push_str("<p class=\"none\">Nothing to report.</p>");
    } else {
        o.push_str("<ul id=\"reasons\">");
        for r in &now.health.reasons {
            o.push_str("<li>");
            h(&mut o, r);
            o.push_str("</li>");
        }
        o.push_str("</ul>");
    }
    if now.draining {
        o.push_str(
            "<p><span class=\"pill unhealthy\">draining</span> new calls are turned away</p>",
        );
    }

    o.push_str("<h2>Circuit breakers</h2>");
    if now.breakers.is_empty() {
        o.push_str(
            "<p class=\"none\">None yet (a breaker appears at its function's first call).</p>",
        );
    } else {
        o.push_str("<table id=\"breakers\"><tr><th>breaker</th><th>state</th><th>for</th><th>last failure</th><th>rejected</th><th>transitions</th></tr>");
        for b in &now.breakers {
            let state = state_name(b.state());
            o.push_str("<tr data-breaker=\"");
            h(&mut o, b.name());
            let _ = write!(o, "\" data-state=\"{state}\"><td>");
            h(&mut o, b.name());
            if b.is_critical() {
                o.push_str(" <small>critical</small>");
            }
            let _ = write!(
                o,
                "</td><td><span class=\"pill {state}\">{}</span></td><td>{}</td><td class=\"cause\">",
                state.replace('_', "-"),
                ago(b.in_state_for())
            );
            match b.last_failure() {
                Some(cause) => h(&mut o, &cause),
                None => o.push_str("<span class=\"none\">–</span>"),
            }
            let _ = write!(
                o,
                "</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                b.rejections(),
                b.transitions()
            );
        }
        o.push_str("</table>");
    }

    o.push_str("<h2>Functions</h2>");
    if now.functions.is_empty() {
        o.push_str("<p class=\"none\">No <code>#[monitored]</code> function called yet.</p>");
    } else {
        o.push_str("<table id=\"functions\"><tr><th>function</th><th>calls</th><th>errors</th><th>error rate</th><th>in flight</th><th>p50</th><th>p99</th></tr>");
        for f in &now.functions {
            o.push_str("<tr data-function=\"");
            h(&mut o, &f.name);
            o.push_str("\"><td>");
            h(&mut o, &f.name);
            let rate = error_rate(f);
            let class = if rate >= 0.5 && f.ended() >= 10 {
                " class=\"n degraded-text\""
            } else {
                " class=\"n\""
            };
            let _ = write!(
                o,
                "</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td{class}>{:.1}%</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                f.calls,
                f.errors,
                rate * 100.0,
                f.in_flight,
                latency(f.latency.p50),
                latency(f.latency.p99)
            );
        }
        o.push_str("</table>");
    }

    if !now.bulkheads.is_empty() {
        o.push_str("<h2>Bulkheads</h2><table id=\"bulkheads\"><tr><th>bulkhead</th><th>in use</th><th>queued</th><th>admitted</th><th>turned away</th></tr>");
        for b in &now.bulkheads {
            o.push_str("<tr><td>");
            h(&mut o, b.name());
            let _ = write!(
                o,
                "</td><td class=\"n\">{} of {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                b.in_use(),
                b.limit(),
                b.queued(),
                b.admitted(),
                bulkhead_rejected(b)
            );
        }
        o.push_str("</table>");
    }
    if !now.limiters.is_empty() {
        o.push_str("<h2>Rate limits</h2><table id=\"rate-limiters\"><tr><th>limiter</th><th>rate</th><th>available</th><th>admitted</th><th>limited</th></tr>");
        for l in &now.limiters {
            o.push_str("<tr><td>");
            h(&mut o, l.name());
            let _ = write!(
                o,
                "</td><td class=\"n\">{} per {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                l.rate(),
                ago(l.per()),
                l.available(),
                l.admitted(),
                l.limited()
            );
        }
        o.push_str("</table>");
    }
    if !now.caches.is_empty() {
        o.push_str("<h2>Caches</h2><table id=\"caches\"><tr><th>cache</th><th>hits</th><th>misses</th><th>entries</th></tr>");
        for (name, hits, misses, entries) in &now.caches {
            o.push_str("<tr><td>");
            h(&mut o, name);
            let _ = write!(
                o,
                "</td><td class=\"n\">{hits}</td><td class=\"n\">{misses}</td><td class=\"n\">{entries}</td></tr>"
            );
        }
        o.push_str("</table>");
    }
    if !now.tasks.is_empty() {
        o.push_str("<h2>Tasks</h2><table id=\"tasks\"><tr><th>task</th><th>state</th><th>restarts</th><th>last error</th></tr>");
        for t in &now.tasks {
            let state = task_state_name(t.state());
            o.push_str("<tr data-task=\"");
            h(&mut o, t.name());
            let _ = write!(o, "\" data-state=\"{state}\"><td>");
            h(&mut o, t.name());
            if t.is_critical() {
                o.push_str(" <small>critical</small>");
            }
            let _ = write!(
                o,
                "</td><td><span class=\"pill {state}\">{}</span></td><td class=\"n\">{}</td><td class=\"cause\">",
                state.replace('_', " "),
                t.restarts()
            );
            match t.last_error() {
                Some(e) => h(&mut o, &e),
                None => o.push_str("<span class=\"none\">–</span>"),
            }
            o.push_str("</td></tr>");
        }
        o.push_str("</table>");
    }
    let _ = write!(
        o,
        "<footer>steadfast {} · reloads every {REFRESH_SECONDS} s · <a href=\"?\">reload</a></footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    o
}
