//! Settings changed without recompiling: [`apply`] (TOML), [`apply_env`] (environment
//! variables) and [`current`] (the settings in force, as TOML).
//!
//! Every named breaker, retry, timeout, bulkhead and rate limiter can be changed, at
//! start-up or while the program runs. A breaker's, bulkhead's or rate limiter's name is its
//! `name = "…"`, else its policy's name, else the function's path (`module::fn`); a retry's
//! or a timeout's is its policy's name, else the function's path. Every
//! decorated function is known from the start (they are listed before `main`), so a typo is
//! an error at start-up, not at the first call.
//!
//! ```toml
//! [breaker.payments]
//! failure_threshold = 10
//! open_for = "1m"
//! critical = true
//!
//! [retry."quotes.fetch"]
//! attempts = 4
//! delay = "50ms"
//! ```
//!
//! Keys are the attribute's, written as in the attribute (durations as strings). Kinds:
//! `breaker` (`failure_threshold`, `window`, `failure_rate`, `minimum_calls`, `open_for`,
//! `half_open_probes`, `critical`), `retry` (`attempts`, `delay`, `backoff`,
//! `multiplier`, `max_delay`, `jitter`, `max_elapsed`), `timeout` (`after`, the
//! deadline), `bulkhead` (`max_concurrent`, `max_wait`, `max_queue`) and `rate_limit`
//! (`rate`, `per`, `burst`, `max_wait`). A `max_wait` of `"0s"` means no waiting.
//!
//! **All or nothing.** The whole input is checked first: an unknown kind, name or key, a
//! value of the wrong type or out of range, is an error that names it (and the names it
//! could have meant), and then nothing is applied.
//!
//! **Live.** A change takes effect from the next call; a breaker keeps its state and counts
//! (one that is open stays open; a new `open_for` applies from its next opening). Changing
//! *how* a breaker opens (consecutive failures, failures within a window, a rate), its
//! `window`, or the threshold of one counting within a window would throw its counts away:
//! that is an error while it runs, and takes effect from the attribute or policy at the
//! next start. The per-key breakers of a function (`key = …`) change together, new keys
//! included, and so do the keys of a bulkhead or rate limiter.
//!
//! A bulkhead given a higher `max_concurrent` lets callers waiting in at once (first come,
//! first served); given a lower one, the calls inside finish and slots go to waiters only
//! once fewer than the new limit are inside. A rate limiter keeps what was used as a number
//! of turns: those taken before a change count against the new rate (no fresh burst), and
//! a higher rate frees turns as soon as it applies; `burst` is kept unless written, even
//! where it was the old `rate` by default.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::breaker::{Breaker, Config, TripPolicy};
use crate::bulkhead::{Bulk, BulkheadSettings, BulkheadSlot};
use crate::rate_limit::{LimitSettings, Limiter, LimiterSlot};
use crate::retry::{Backoff, Jitter, RetryPolicy};

/// What [`apply`] or [`apply_env`] changed, one line per setting
/// (`breaker.payments.open_for = "1m"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    changes: Vec<String>,
}

impl Applied {
    /// The settings changed, one per line.
    pub fn changes(&self) -> &[String] {
        &self.changes
    }

    /// True when the input changed nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.changes.join("\n"))
    }
}

/// Why [`apply`] or [`apply_env`] changed nothing: every problem found in the input, each
/// naming the kind, name, key or variable at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<String>,
}

impl ConfigError {
    /// Every problem, one per entry.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nothing applied: {}", self.problems.join("; "))
    }
}

impl std::error::Error for ConfigError {}

/// One `kind.name.key = value` of the input, in the input's order.
struct Setting {
    kind: String,
    name: String,
    key: String,
    value: Value,
    /// Where it came from, for messages: `breaker.payments.open_for` or the variable.
    origin: String,
}

/// A value as written: TOML's, or an environment variable's text.
enum Value {
    Toml(toml::Value),
    Text(String),
}

impl Value {
    fn describe(&self) -> String {
        match self {
            Value::Toml(v) => v.to_string(),
            Value::Text(t) => format!("{t:?}"),
        }
    }

    fn int(&self, min: u64, max: u64) -> Result<u64, String> {
        let n = match self {
            Value::Toml(toml::Value::Integer(n)) => u64::try_from(*n).ok(),
            Value::Text(t) => t.trim().parse::<u64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            Some(n) => Err(format!("must be between {min} and {max}, found {n}")),
            None => Err(format!("takes a whole number, found {}", self.describe())),
        }
    }

    fn float(&self) -> Result<f64, String> {
        match self {
            Value::Toml(toml::Value::Float(x)) => Ok(*x),
            Value::Toml(toml::Value::Integer(n)) => Ok(*n as f64),
            Value::Text(t) => t
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("takes a number, found {t:?}")),
            other => Err(format!("takes a number, found {}", other.describe())),
        }
    }

    fn boolean(&self) -> Result<bool, String> {
        match self {
            Value::Toml(toml::Value::Boolean(b)) => Ok(*b),
            Value::Text(t) if t.trim() == "true" => Ok(true),
            Value::Text(t) if t.trim() == "false" => Ok(false),
            other => Err(format!("takes true or false, found {}", other.describe())),
        }
    }

    fn text(&self) -> Result<&str, String> {
        match self {
            Value::Toml(toml::Value::String(s)) => Ok(s),
            Value::Text(t) => Ok(t.trim()),
            other => Err(format!("takes a string, found {}", other.describe())),
        }
    }

    /// A duration, zero allowed (`max_wait = "0s"`: not at all).
    fn duration_or_zero(&self) -> Result<Duration, String> {
        match self.duration() {
            Err(e) if e.starts_with("must be longer") => Ok(Duration::ZERO),
            other => other,
        }
    }

    fn duration(&self) -> Result<Duration, String> {
        let text = self.text()?;
        match parse_duration(text) {
            Some(d) if !d.is_zero() => Ok(d),
            Some(_) => Err("must be longer than zero".to_owned()),
            None => Err(format!(
                "malformed duration {text:?}; write a number and a unit, such as \"250ms\", \"2s\", \"1.5m\" or \"1h\""
            )),
        }
    }
}

/// `"250ms"`, `"2s"`, `"1.5m"`, `"1h"` (units `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), as the
/// attributes take them.
#[doc(hidden)]
pub fn parse_duration(text: &str) -> Option<Duration> {
    const UNITS: &[(&str, u64)] = &[
        ("ns", 1),
        ("us", 1_000),
        ("µs", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ];
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))?;
    let (number, unit) = text.split_at(split);
    let scale = UNITS.iter().find(|(u, _)| *u == unit.trim())?.1;
    let number = number.replace('_', "");
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    let nanos = match number.split_once('.') {
        None => number.parse::<u64>().ok()?.checked_mul(scale)?,
        Some((whole, frac)) => {
            let whole = whole.parse::<u64>().ok()?.checked_mul(scale)?;
            let frac: f64 = format!("0.{frac}").parse().ok()?;
            whole.checked_add((frac * scale as f64).round() as u64)?
        }
    };
    Some(Duration::from_nanos(nanos))
}

/// A duration as the attributes take it, for [`current`].
fn show_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    for (unit, scale) in [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if nanos >= scale && nanos % scale == 0 {
            return format!("{}{unit}", nanos / scale);
        }
    }
    format!("{nanos}ns")
}

#[doc(hidden)]
pub const BREAKER_KEYS: &[&str] = &[
    "failure_threshold",
    "window",
    "failure_rate",
    "minimum_calls",
    "open_for",
    "half_open_probes",
    "critical",
];
#[doc(hidden)]
pub const RETRY_KEYS: &[&str] = &[
    "attempts",
    "delay",
    "backoff",
    "multiplier",
    "max_delay",
    "jitter",
    "max_elapsed",
];
const TIMEOUT_KEYS: &[&str] = &["after"];
const BULKHEAD_KEYS: &[&str] = &["max_concurrent", "max_wait", "max_queue"];
const RATE_LIMIT_KEYS: &[&str] = &["rate", "per", "burst", "max_wait"];
const KINDS: &[&str] = &["breaker", "retry", "timeout", "bulkhead", "rate_limit"];

/// Every breaker that can be changed, by name: a function's breaker, or the per-key
/// breakers of a function (changed together).
fn breakers_by_name() -> BTreeMap<String, Target> {
    let (single, keyed) = crate::breaker::by_function();
    let mut all = BTreeMap::new();
    for b in single {
        all.insert(b.name().to_owned(), Target::Single(b));
    }
    for k in keyed {
        all.insert(k.name().to_owned(), Target::Keyed(k));
    }
    all
}

enum Target {
    Single(Breaker),
    Keyed(&'static crate::breaker::KeyedBreakers),
}

impl Target {
    fn config(&self) -> (Config, bool) {
        match self {
            Target::Single(b) => (b.0.config(), b.is_critical()),
            Target::Keyed(k) => k.settings(),
        }
    }
}

/// Cells (of `#[retry]` or `#[timeout]` functions) by name; functions sharing a named
/// policy share an entry.
fn by_name<T>(
    cells: impl Iterator<Item = &'static T>,
    name: fn(&'static T) -> &'static str,
) -> BTreeMap<&'static str, Vec<&'static T>> {
    let mut all: BTreeMap<&'static str, Vec<&'static T>> = BTreeMap::new();
    for cell in cells {
        all.entry(name(cell)).or_default().push(cell);
    }
    all
}

fn retries_by_name() -> BTreeMap<&'static str, Vec<&'static crate::retry::RetryCell>> {
    by_name(crate::retry::listed(), crate::retry::RetryCell::name)
}

fn timeouts_by_name() -> BTreeMap<&'static str, Vec<&'static crate::timeout::TimeoutCell>> {
    by_name(crate::timeout::listed(), crate::timeout::TimeoutCell::name)
}

fn bulkheads_by_name() -> BTreeMap<&'static str, Vec<&'static BulkheadSlot>> {
    by_name(crate::bulkhead::listed(), BulkheadSlot::name)
}

fn rate_limits_by_name() -> BTreeMap<&'static str, Vec<&'static LimiterSlot>> {
    by_name(crate::rate_limit::listed(), LimiterSlot::name)
}

/// The cells of `name`, or the problem of a name that is not there.
fn find<'a, T>(
    kind: &str,
    name: &str,
    all: &'a BTreeMap<&'static str, Vec<&'static T>>,
) -> Result<&'a Vec<&'static T>, String> {
    all.get(name)
        .ok_or_else(|| unknown(kind, name, all.keys().map(|k| (*k).to_owned())))
}

/// A name that is not there, with the names it could have meant.
fn unknown(kind: &str, name: &str, known: impl Iterator<Item = String>) -> String {
    let known: Vec<String> = known.collect();
    let list = if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    };
    format!("{kind} {name:?} is not defined; known: {list}")
}

/// The changes the settings make, checked as a whole: every problem, or every change.
enum Plan {
    Breaker(Target, Config, bool, Vec<String>),
    Retry(
        Vec<&'static crate::retry::RetryCell>,
        RetryPolicy,
        Vec<String>,
    ),
    Timeout(
        Vec<&'static crate::timeout::TimeoutCell>,
        Duration,
        Vec<String>,
    ),
    Bulkhead(&'static Bulk, BulkheadSettings, Vec<String>),
    RateLimit(&'static Limiter, LimitSettings, Vec<String>),
}

fn plan(settings: Vec<Setting>) -> Result<Vec<Plan>, ConfigError> {
    let mut problems = Vec::new();
    // Grouped by kind and name, keeping the input's order within each.
    let mut groups: Vec<((String, String), Vec<Setting>)> = Vec::new();
    for s in settings {
        let id = (s.kind.clone(), s.name.clone());
        match groups.iter_mut().find(|(g, _)| *g == id) {
            Some((_, list)) => list.push(s),
            None => groups.push((id, vec![s])),
        }
    }
    let mut breakers = breakers_by_name();
    let retries = retries_by_name();
    let timeouts = timeouts_by_name();
    let bulkheads = bulkheads_by_name();
    let rate_limits = rate_limits_by_name();
    let mut plans = Vec::new();
    for ((kind, name), settings) in groups {
        match kind.as_str() {
            "breaker" => {
                let Some(target) = breakers.remove(&name) else {
                    problems.push(unknown("breaker", &name, breakers_by_name().into_keys()));
                    continue;
                };
                let (current, critical) = target.config();
                match breaker_settings(current, critical, &settings) {
                    Ok((config, critical, changes)) => {
                        let check = match &target {
                            Target::Single(b) => b.0.can_retune(&config),
                            Target::Keyed(k) => k.can_retune(&config),
                        };
                        match check {
                            Ok(()) => plans.push(Plan::Breaker(target, config, critical, changes)),
                            Err(e) => problems.push(format!("breaker {name:?}: {e}")),
                        }
                    }
                    Err(mut e) => problems.append(&mut e),
                }
            }
            "retry" => {
                let cells = match find("retry", &name, &retries) {
                    Ok(cells) => cells,
                    Err(e) => {
                        problems.push(e);
                        continue;
                    }
                };
                match retry_settings(cells[0].current(), &settings) {
                    Ok((policy, changes)) => {
                        plans.push(Plan::Retry(cells.clone(), policy, changes))
                    }
                    Err(mut e) => problems.append(&mut e),
                }
            }
            "timeout" => {
                let cells = match find("timeout", &name, &timeouts) {
                    Ok(cells) => cells,
                    Err(e) => {
                        problems.push(e);
                        continue;
                    }
                };
                let mut after = None;
                for s in &settings {
                    match s.key.as_str() {
                        "after" => match s.value.duration() {
                            Ok(d) => {
                                after = Some((d, format!("{} = {}", s.origin, s.value.describe())))
                            }
                            Err(e) => problems.push(format!("{}: {e}", s.origin)),
                        },
                        _ => problems.push(format!(
                            "{}: unknown key; a timeout takes: {}",
                            s.origin,
                            TIMEOUT_KEYS.join(", ")
                        )),
                    }
                }
                if let Some((d, change)) = after {
                    plans.push(Plan::Timeout(cells.clone(), d, vec![change]));
                }
            }
            "bulkhead" => {
                let slots = match find("bulkhead", &name, &bulkheads) {
                    Ok(slots) => slots,
                    Err(e) => {
                        problems.push(e);
                        continue;
                    }
                };
                // Functions naming one bulkhead share it: one change for all.
                let bulk = slots[0].bulk();
                match bulkhead_settings(bulk.settings(), &settings) {
                    Ok((new, changes)) => plans.push(Plan::Bulkhead(bulk, new, changes)),
                    Err(mut e) => problems.append(&mut e),
                }
            }
            "rate_limit" => {
                let slots = match find("rate_limit", &name, &rate_limits) {
                    Ok(slots) => slots,
                    Err(e) => {
                        problems.push(e);
                        continue;
                    }
                };
                let limiter = slots[0].limiter();
                match rate_limit_settings(limiter.settings(), &settings) {
                    Ok((new, changes)) => plans.push(Plan::RateLimit(limiter, new, changes)),
                    Err(mut e) => problems.append(&mut e),
                }
            }
            other => problems.push(format!(
                "unknown kind {other:?} (in {}); known: {}",
                settings[0].origin,
                KINDS.join(", ")
            )),
        }
    }
    if problems.is_empty() {
        Ok(plans)
    } else {
        Err(ConfigError { problems })
    }
}

fn breaker_settings(
    current: Config,
    mut critical: bool,
    settings: &[Setting],
) -> Result<(Config, bool, Vec<String>), Vec<String>> {
    let (mut problems, mut changes) = (Vec::new(), Vec::new());
    let mut config = current;
    let mut trip = current.trip;
    // Keys that pick the mode first, then the ones that adjust it.
    let order = |s: &&Setting| match s.key.as_str() {
        "failure_threshold" | "failure_rate" => 0,
        _ => 1,
    };
    let mut sorted: Vec<&Setting> = settings.iter().collect();
    sorted.sort_by_key(order);
    for s in sorted {
        let bad = |e: String| format!("{}: {e}", s.origin);
        let result: Result<(), String> = match s.key.as_str() {
            "failure_threshold" => {
                s.value
                    .int(1, u64::from(crate::breaker::MAX_FAILURES))
                    .map(|n| {
                        trip = match trip {
                            TripPolicy::Count { window, .. } => TripPolicy::Count {
                                threshold: n as u32,
                                window,
                            },
                            _ => TripPolicy::Consecutive {
                                threshold: n as u32,
                            },
                        }
                    })
            }
            "failure_rate" => s.value.float().and_then(|rate| {
                if !(rate > 0.0 && rate <= 1.0) {
                    return Err(format!("must be in (0, 1], found {rate}"));
                }
                trip = match trip {
                    TripPolicy::Rate {
                        minimum_calls,
                        window,
                        ..
                    } => TripPolicy::Rate {
                        rate,
                        minimum_calls,
                        window,
                    },
                    _ => TripPolicy::Rate {
                        rate,
                        minimum_calls: TripPolicy::DEFAULT_MINIMUM_CALLS,
                        window: TripPolicy::DEFAULT_WINDOW,
                    },
                };
                Ok(())
            }),
            "minimum_calls" => s
                .value
                .int(1, u64::from(u32::MAX))
                .and_then(|n| match &mut trip {
                    TripPolicy::Rate { minimum_calls, .. } => {
                        *minimum_calls = n as u32;
                        Ok(())
                    }
                    _ => Err(
                        "goes with `failure_rate`, and this breaker does not open on a rate"
                            .to_owned(),
                    ),
                }),
            "window" => s.value.duration().map(|w| {
                trip = match trip {
                    TripPolicy::Consecutive { threshold } => TripPolicy::Count {
                        threshold,
                        window: w,
                    },
                    TripPolicy::Count { threshold, .. } => TripPolicy::Count {
                        threshold,
                        window: w,
                    },
                    TripPolicy::Rate {
                        rate,
                        minimum_calls,
                        ..
                    } => TripPolicy::Rate {
                        rate,
                        minimum_calls,
                        window: w,
                    },
                }
            }),
            "open_for" => s.value.duration().map(|d| config.open_for = d),
            "half_open_probes" => s
                .value
                .int(1, u64::from(crate::breaker::MAX_PROBES))
                .map(|n| config.half_open_probes = n as u32),
            "critical" => s.value.boolean().map(|b| critical = b),
            _ => Err(format!(
                "unknown key; a breaker takes: {}",
                BREAKER_KEYS.join(", ")
            )),
        };
        match result {
            Ok(()) => changes.push(format!("{} = {}", s.origin, s.value.describe())),
            Err(e) => problems.push(bad(e)),
        }
    }
    config.trip = trip;
    if let TripPolicy::Count { threshold, .. } = trip {
        if threshold > crate::breaker::MAX_IN_WINDOW {
            problems.push(format!(
                "breaker {:?}: `failure_threshold` within a window must be at most {}",
                settings[0].name,
                crate::breaker::MAX_IN_WINDOW
            ));
        }
    }
    if problems.is_empty() {
        Ok((config, critical, changes))
    } else {
        Err(problems)
    }
}

fn retry_settings(
    current: RetryPolicy,
    settings: &[Setting],
) -> Result<(RetryPolicy, Vec<String>), Vec<String>> {
    let (mut problems, mut changes) = (Vec::new(), Vec::new());
    let mut p = current;
    let mut multiplier = None;
    for s in settings {
        let result: Result<(), String> = match s.key.as_str() {
            "attempts" => s
                .value
                .int(1, u64::from(u32::MAX))
                .map(|n| p.attempts = n as u32),
            "delay" => s.value.duration().map(|d| p.delay = d),
            "max_delay" => s.value.duration().map(|d| p.max_delay = d),
            "max_elapsed" => s.value.duration().map(|d| p.max_elapsed = Some(d)),
            "multiplier" => s.value.float().and_then(|m| {
                if m >= 1.0 && m.is_finite() {
                    multiplier = Some(m);
                    Ok(())
                } else {
                    Err(format!("must be a number of at least 1, found {m}"))
                }
            }),
            "backoff" => s.value.text().and_then(|b| {
                p.backoff = match b {
                    "constant" => Backoff::Constant,
                    "linear" => Backoff::Linear,
                    "exponential" => match p.backoff {
                        e @ Backoff::Exponential { .. } => e,
                        _ => Backoff::DEFAULT,
                    },
                    other => {
                        return Err(format!(
                            "is \"constant\", \"linear\" or \"exponential\", found {other:?}"
                        ));
                    }
                };
                Ok(())
            }),
            "jitter" => s.value.text().and_then(|j| {
                p.jitter = match j {
                    "none" => Jitter::None,
                    "full" => Jitter::Full,
                    "equal" => Jitter::Equal,
                    "decorrelated" => Jitter::Decorrelated,
                    other => {
                        return Err(format!(
                            "is \"none\", \"full\", \"equal\" or \"decorrelated\", found {other:?}"
                        ));
                    }
                };
                Ok(())
            }),
            _ => Err(format!(
                "unknown key; a retry takes: {}",
                RETRY_KEYS.join(", ")
            )),
        };
        match result {
            Ok(()) => changes.push(format!("{} = {}", s.origin, s.value.describe())),
            Err(e) => problems.push(format!("{}: {e}", s.origin)),
        }
    }
    if let Some(m) = multiplier {
        match p.backoff {
            Backoff::Exponential { .. } => p.backoff = Backoff::Exponential { multiplier: m },
            _ => problems.push(format!(
                "retry {:?}: `multiplier` applies to `backoff = \"exponential\"`",
                settings[0].name
            )),
        }
    }
    if p.max_delay < p.delay {
        problems.push(format!(
            "retry {:?}: `max_delay` ({}) is shorter than `delay` ({})",
            settings[0].name,
            show_duration(p.max_delay),
            show_duration(p.delay)
        ));
    }
    if problems.is_empty() {
        Ok((p, changes))
    } else {
        Err(problems)
    }
}

fn bulkhead_settings(
    current: BulkheadSettings,
    settings: &[Setting],
) -> Result<(BulkheadSettings, Vec<String>), Vec<String>> {
    let (mut problems, mut changes) = (Vec::new(), Vec::new());
    let mut b = current;
    for s in settings {
        let result: Result<(), String> = match s.key.as_str() {
            "max_concurrent" => s
                .value
                .int(1, u64::from(u32::MAX >> 1))
                .map(|n| b.max_concurrent = n as u32),
            "max_wait" => s.value.duration_or_zero().map(|d| b.max_wait = d),
            "max_queue" => s
                .value
                .int(1, u64::from(u32::MAX >> 1))
                .map(|n| b.max_queue = Some(n as u32)),
            _ => Err(format!(
                "unknown key; a bulkhead takes: {}",
                BULKHEAD_KEYS.join(", ")
            )),
        };
        match result {
            Ok(()) => changes.push(format!("{} = {}", s.origin, s.value.describe())),
            Err(e) => problems.push(format!("{}: {e}", s.origin)),
        }
    }
    if b.max_queue.is_some() && b.max_wait.is_zero() && problems.is_empty() {
        problems.push(format!(
            "bulkhead {:?}: `max_queue` bounds the calls waiting for a slot, and with `max_wait` zero no call waits: set `max_wait` too",
            settings[0].name
        ));
    }
    if problems.is_empty() {
        Ok((b, changes))
    } else {
        Err(problems)
    }
}

fn rate_limit_settings(
    current: LimitSettings,
    settings: &[Setting],
) -> Result<(LimitSettings, Vec<String>), Vec<String>> {
    let (mut problems, mut changes) = (Vec::new(), Vec::new());
    let mut l = current;
    for s in settings {
        let result: Result<(), String> = match s.key.as_str() {
            "rate" => s
                .value
                .int(1, u64::from(u32::MAX))
                .map(|n| l.rate = n as u32),
            "per" => s.value.duration().map(|d| l.per = d),
            "burst" => s
                .value
                .int(1, u64::from(u32::MAX))
                .map(|n| l.burst = n as u32),
            "max_wait" => s.value.duration_or_zero().map(|d| l.max_wait = d),
            _ => Err(format!(
                "unknown key; a rate limiter takes: {}",
                RATE_LIMIT_KEYS.join(", ")
            )),
        };
        match result {
            Ok(()) => changes.push(format!("{} = {}", s.origin, s.value.describe())),
            Err(e) => problems.push(format!("{}: {e}", s.origin)),
        }
    }
    if problems.is_empty() {
        Ok((l, changes))
    } else {
        Err(problems)
    }
}

fn run(settings: Vec<Setting>) -> Result<Applied, ConfigError> {
    let plans = plan(settings)?;
    let mut applied = Applied::default();
    for plan in plans {
        match plan {
            Plan::Breaker(target, config, critical, mut changes) => {
                let result = match &target {
                    Target::Single(b) => b.0.retune(config, critical),
                    Target::Keyed(k) => k.retune(config, critical),
                };
                // Checked above under the same rules; a breaker cannot change its mode
                // between the check and here (only `apply` retunes, one at a time).
                if let Err(e) = result {
                    tracing::error!(target: "steadfast", "config: {e}");
                    continue;
                }
                applied.changes.append(&mut changes);
            }
            Plan::Retry(cells, policy, mut changes) => {
                for cell in cells {
                    cell.set(policy);
                }
                applied.changes.append(&mut changes);
            }
            Plan::Timeout(cells, after, mut changes) => {
                for cell in cells {
                    cell.set(after);
                }
                applied.changes.append(&mut changes);
            }
            Plan::Bulkhead(bulk, settings, mut changes) => {
                bulk.retune(settings);
                applied.changes.append(&mut changes);
            }
            Plan::RateLimit(limiter, settings, mut changes) => {
                limiter.retune(
                    settings,
                    crate::clock::Clock::now(&crate::clock::SystemClock).0,
                );
                applied.changes.append(&mut changes);
            }
        }
    }
    for change in applied.changes() {
        tracing::info!(target: "steadfast", "config: {change}");
    }
    Ok(applied)
}

/// Only one `apply` at a time, so that a change is checked and made as one.
static APPLYING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Changes the settings of named breakers and retries from TOML (see the module docs):
/// everything, or nothing and an error naming every problem.
///
/// ```
/// # #[steadfast::circuit_breaker(name = "docs.payments")]
/// # fn charge() -> Result<(), steadfast::CircuitOpen> { Ok(()) }
/// let applied = steadfast::config::apply(r#"
///     [breaker."docs.payments"]
///     open_for = "1m"
/// "#).unwrap();
/// assert_eq!(applied.changes(), [r#"breaker."docs.payments".open_for = "1m""#]);
///
/// let err = steadfast::config::apply(r#"[breaker."docs.paymnets"]
/// open_for = "1m""#).unwrap_err();
/// assert!(err.to_string().contains(r#"breaker "docs.paymnets" is not defined; known: "#));
/// ```
pub fn apply(toml: &str) -> Result<Applied, ConfigError> {
    let table: toml::Table = toml.parse().map_err(|e: toml::de::Error| ConfigError {
        problems: vec![format!("not valid TOML: {}", e.message())],
    })?;
    let mut settings = Vec::new();
    let mut problems = Vec::new();
    for (kind, names) in table {
        let Some(names) = names.as_table() else {
            problems.push(format!(
                "`{kind}` must be a table of names, as in [{kind}.name]"
            ));
            continue;
        };
        for (name, keys) in names {
            let Some(keys) = keys.as_table() else {
                problems.push(format!(
                    "`{kind}.{name}` must be a table of settings, as in [{kind}.{name:?}]"
                ));
                continue;
            };
            for (key, value) in keys {
                settings.push(Setting {
                    origin: format!("{kind}.{}.{key}", toml_key(name)),
                    kind: kind.clone(),
                    name: name.clone(),
                    key: key.clone(),
                    value: Value::Toml(value.clone()),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }
    let _one = APPLYING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    run(settings)
}

/// A name as a TOML key: bare when it can be, else quoted.
fn toml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}

/// The environment variable form of a name: upper-cased, every other character `_`.
fn env_form(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Changes settings from environment variables named
/// `<PREFIX>_<KIND>_<NAME>_<KEY>`, each part upper-cased with every other character as
/// `_`: `STEADFAST_BREAKER_PAYMENTS_OPEN_FOR=1m`, `STEADFAST_RETRY_QUOTES_FETCH_ATTEMPTS=4`.
/// Values are written as in the attribute, without quotes. Variables that start with the
/// prefix and match no kind, name and key are errors; as with [`apply`], everything is
/// applied or nothing is.
pub fn apply_env(prefix: &str) -> Result<Applied, ConfigError> {
    apply_vars(
        prefix,
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    )
}

fn apply_vars(
    prefix: &str,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<Applied, ConfigError> {
    let prefix = format!("{}_", env_form(prefix));
    let breakers: Vec<String> = breakers_by_name().into_keys().collect();
    let retries: Vec<String> = retries_by_name().into_keys().map(str::to_owned).collect();
    let timeouts: Vec<String> = timeouts_by_name().into_keys().map(str::to_owned).collect();
    let bulkheads: Vec<String> = bulkheads_by_name().into_keys().map(str::to_owned).collect();
    let rate_limits: Vec<String> = rate_limits_by_name()
        .into_keys()
        .map(str::to_owned)
        .collect();
    let mut vars: Vec<(String, String)> = vars.filter(|(k, _)| k.starts_with(&prefix)).collect();
    vars.sort();
    let mut settings = Vec::new();
    let mut problems = Vec::new();
    for (var, value) in vars {
        let rest = &var[prefix.len()..];
        let found = [
            ("breaker", &breakers, BREAKER_KEYS),
            ("retry", &retries, RETRY_KEYS),
            ("timeout", &timeouts, TIMEOUT_KEYS),
            ("bulkhead", &bulkheads, BULKHEAD_KEYS),
            ("rate_limit", &rate_limits, RATE_LIMIT_KEYS),
        ]
        .into_iter()
        .find_map(|(kind, names, keys)| {
            let rest = rest.strip_prefix(&format!("{}_", env_form(kind)))?;
            // The longest name that fits, then a key.
            let mut candidates: Vec<&String> = names
                .iter()
                .filter(|n| rest.starts_with(&format!("{}_", env_form(n))))
                .collect();
            candidates.sort_by_key(|n| std::cmp::Reverse(n.len()));
            candidates.into_iter().find_map(|name| {
                let key = &rest[env_form(name).len() + 1..];
                keys.iter()
                    .find(|k| env_form(k) == key)
                    .map(|k| (kind, name.clone(), (*k).to_owned()))
            })
        });
        match found {
            Some((kind, name, key)) => settings.push(Setting {
                kind: kind.to_owned(),
                name,
                key,
                value: Value::Text(value),
                origin: var,
            }),
            None => problems.push(format!(
                "{var} names no setting: expected {prefix}<KIND>_<NAME>_<KEY>, with a kind among {} and a known name (breakers: {}; retries: {}; timeouts: {}; bulkheads: {}; rate limiters: {})",
                env_list(&KINDS.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>()),
                env_list(&breakers),
                env_list(&retries),
                env_list(&timeouts),
                env_list(&bulkheads),
                env_list(&rate_limits),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }
    let _one = APPLYING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    run(settings)
}

fn env_list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names
            .iter()
            .map(|n| env_form(n))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The settings in force of every breaker, retry and timeout, as TOML that [`apply`] takes
/// back.
///
/// ```
/// # #[steadfast::circuit_breaker(name = "docs.current", open_for = "45s")]
/// # fn f() -> Result<(), steadfast::CircuitOpen> { Ok(()) }
/// let toml = steadfast::config::current();
/// assert!(toml.contains("[breaker.\"docs.current\"]"));
/// assert!(toml.contains("open_for = \"45s\""));
/// ```
pub fn current() -> String {
    let mut root = toml::Table::new();
    let mut breakers = toml::Table::new();
    for (name, target) in breakers_by_name() {
        let (config, critical) = target.config();
        let mut t = toml::Table::new();
        match config.trip {
            TripPolicy::Consecutive { threshold } => {
                t.insert("failure_threshold".into(), i64::from(threshold).into());
            }
            TripPolicy::Count { threshold, window } => {
                t.insert("failure_threshold".into(), i64::from(threshold).into());
                t.insert("window".into(), show_duration(window).into());
            }
            TripPolicy::Rate {
                rate,
                minimum_calls,
                window,
            } => {
                t.insert("failure_rate".into(), rate.into());
                t.insert("minimum_calls".into(), i64::from(minimum_calls).into());
                t.insert("window".into(), show_duration(window).into());
            }
        }
        t.insert("open_for".into(), show_duration(config.open_for).into());
        t.insert(
            "half_open_probes".into(),
            i64::from(config.half_open_probes).into(),
        );
        t.insert("critical".into(), critical.into());
        breakers.insert(name, t.into());
    }
    let mut retries = toml::Table::new();
    for (name, cells) in retries_by_name() {
        let p = cells[0].current();
        let mut t = toml::Table::new();
        t.insert("attempts".into(), i64::from(p.attempts).into());
        t.insert("delay".into(), show_duration(p.delay).into());
        let backoff = match p.backoff {
            Backoff::Constant => "constant",
            Backoff::Linear => "linear",
            Backoff::Exponential { multiplier } => {
                t.insert("multiplier".into(), multiplier.into());
                "exponential"
            }
        };
        t.insert("backoff".into(), backoff.into());
        t.insert("max_delay".into(), show_duration(p.max_delay).into());
        let jitter = match p.jitter {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
            Jitter::Decorrelated => "decorrelated",
        };
        t.insert("jitter".into(), jitter.into());
        if let Some(d) = p.max_elapsed {
            t.insert("max_elapsed".into(), show_duration(d).into());
        }
        retries.insert(name.to_owned(), t.into());
    }
    let mut timeouts = toml::Table::new();
    for (name, cells) in timeouts_by_name() {
        let mut t = toml::Table::new();
        t.insert("after".into(), show_duration(cells[0].get()).into());
        timeouts.insert(name.to_owned(), t.into());
    }
    let mut bulkheads = toml::Table::new();
    for (name, slots) in bulkheads_by_name() {
        let b = slots[0].bulk().settings();
        let mut t = toml::Table::new();
        t.insert("max_concurrent".into(), i64::from(b.max_concurrent).into());
        t.insert("max_wait".into(), show_duration(b.max_wait).into());
        if let Some(q) = b.max_queue {
            t.insert("max_queue".into(), i64::from(q).into());
        }
        bulkheads.insert(name.to_owned(), t.into());
    }
    let mut rate_limits = toml::Table::new();
    for (name, slots) in rate_limits_by_name() {
        let l = slots[0].limiter().settings();
        let mut t = toml::Table::new();
        t.insert("rate".into(), i64::from(l.rate).into());
        t.insert("per".into(), show_duration(l.per).into());
        t.insert("burst".into(), i64::from(l.burst).into());
        t.insert("max_wait".into(), show_duration(l.max_wait).into());
        rate_limits.insert(name.to_owned(), t.into());
    }
    root.insert("breaker".into(), breakers.into());
    root.insert("retry".into(), retries.into());
    root.insert("timeout".into(), timeouts.into());
    root.insert("bulkhead".into(), bulkheads.into());
    root.insert("rate_limit".into(), rate_limits.into());
    toml::to_string(&root).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_shown_as_the_attributes_write_them() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5m"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2 s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("2"), None);
        assert_eq!(parse_duration("ms"), None);
        assert_eq!(parse_duration("1.s"), None);
        assert_eq!(show_duration(Duration::from_secs(90)), "90s");
        assert_eq!(show_duration(Duration::from_secs(120)), "2m");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(env_form("quotes.fetch"), "QUOTES_FETCH");
    }
}
