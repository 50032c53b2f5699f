//! Attribute macros that make a function resilient and observable without changing its
//! signature, on sync and async functions alike.
//!
//! ```
//! # #[derive(Debug)] struct FetchError;
//! # impl From<steadfast::CircuitOpen> for FetchError { fn from(_: steadfast::CircuitOpen) -> Self { FetchError } }
//! # impl From<steadfast::Elapsed> for FetchError { fn from(_: steadfast::Elapsed) -> Self { FetchError } }
//! use steadfast::{circuit_breaker, monitored, retry, timeout};
//!
//! // Every call is counted and timed; every attempt passes the breaker and has its own 2 s.
//! #[monitored]
//! #[retry(attempts = 3, delay = "50ms", max_delay = "1s", jitter = "full")]
//! #[circuit_breaker(failure_threshold = 5, open_for = "30s")]
//! #[timeout("2s")]
//! async fn fetch_quote(symbol: String) -> Result<f64, FetchError> {
//!     Ok(symbol.len() as f64)
//! }
//! ```
//!
//! The attributes — [`monitored`], [`retry`], [`circuit_breaker`], [`timeout`] — expand into
//! calls into this crate, which holds the breaker registry ([`breaker`], [`breakers`]) and
//! the figures ([`metrics::snapshot`], [`metrics::prometheus`], [`health`]).
//!
//! # A short guide
//!
//! ## Errors and `From`
//!
//! The function keeps its signature; what an attribute has to report comes back through
//! your error type. `#[circuit_breaker]` needs `E: From<`[`CircuitOpen`]`>`, `#[timeout]`
//! needs `E: From<`[`Elapsed`]`>`; `#[retry]` only needs a `Result`; `#[monitored]` takes
//! any return type. `anyhow::Error`, `Box<dyn Error + Send + Sync>` and `io::Error` have
//! both `From`s already; for your own enum, add a variant for each:
//!
//! ```
//! #[derive(Debug)]
//! enum ApiError {
//!     Http(u16),
//!     Unavailable(steadfast::CircuitOpen), // `.retry_after()` says when to come back
//!     TooSlow(steadfast::Elapsed),
//! }
//! impl From<steadfast::CircuitOpen> for ApiError {
//!     fn from(e: steadfast::CircuitOpen) -> Self { ApiError::Unavailable(e) }
//! }
//! impl From<steadfast::Elapsed> for ApiError {
//!     fn from(e: steadfast::Elapsed) -> Self { ApiError::TooSlow(e) }
//! }
//! ```
//!
//! A wrong return type is a compile error on the return type that names the attribute and
//! what is missing.
//!
//! ## Stacking order
//!
//! The attribute written first is the outermost. Read the stack top-down as "around":
//!
//! - `#[retry] #[circuit_breaker] #[timeout]` — the usual order: every attempt passes the
//!   breaker, every attempt has its own deadline, a deadline that passes is a failure the
//!   breaker counts, and the retry waits out an open breaker instead of spending attempts.
//! - `#[timeout] #[retry]` — one deadline for the whole call, waits between attempts
//!   included.
//! - `#[circuit_breaker] #[retry]` — the breaker sees one outcome per call, after all its
//!   attempts: it opens only when whole retried calls keep failing.
//! - `#[monitored]` first counts calls as the caller sees them; under `#[retry]` it would
//!   count attempts.
//!
//! ## Choosing thresholds
//!
//! - `failure_threshold = 5` (consecutive) suits a dependency that either works or does not.
//!   For one that degrades, count within a window (`failure_threshold = 3, window = "60s"`)
//!   or use a rate (`failure_rate = 0.5, minimum_calls = 20, window = "60s"`) so that
//!   occasional successes do not keep a failing dependency in service.
//! - `open_for` is how long you let a dependency recover before probing it: a few times
//!   its usual recovery, seconds for a restarted pod, a minute for a host. Probes also hold
//!   a lease of `open_for`: a probe that never ends is presumed lost.
//! - `half_open_probes = 1` closes on one success; raise it when one success proves little.
//! - Give `#[retry]` a `max_delay` shorter than the breaker's `open_for`, and the retry
//!   returns a `CircuitOpen` at once instead of waiting out a long outage.
//! - Use `failure_if` / `retry_if` so that a caller's mistake (404, validation) neither
//!   opens the breaker nor gets retried.
//! - Keyed breakers (`key = host`) isolate one failing host from the others; `max_keys`
//!   bounds their memory.
//!
//! ## Sync and async
//!
//! Every attribute works on both; each detects which. Sync retries sleep the thread, async
//! ones await `tokio::time::sleep`. A sync body cannot be interrupted, so `#[timeout]` on a
//! sync function needs `detach`: the body then runs on a thread of its own. Async timeouts
//! and waits need a tokio runtime with time enabled, like `tokio::time::timeout`.
//!
//! ## Testing code that uses steadfast
//!
//! - Enable the `test-util` feature in your dev-dependencies and use
//!   `#[tokio::test(start_paused = true)]`: retries, timeouts *and* breakers then follow
//!   tokio's paused clock, so a test of a 30 s `open_for` takes no time and is exact.
//! - Name the breakers your tests look at (`name = "payments"`) and read them with
//!   [`breaker`]; [`Breaker::force_open`] and [`Breaker::reset`] put one in the state a
//!   test needs (a forced-open breaker rejects every call until reset).
//! - Breakers and metrics are per process: tests in one binary share them, so give each
//!   test its own functions (or names), or reset what you use.
//!
//! ```
//! # #[derive(Debug)] struct E; impl From<steadfast::CircuitOpen> for E { fn from(_: steadfast::CircuitOpen) -> Self { E } }
//! #[steadfast::circuit_breaker(name = "docs.testing")]
//! fn charge() -> Result<(), E> { Ok(()) }
//!
//! charge().unwrap();
//! let b = steadfast::breaker("docs.testing").unwrap();
//! b.force_open();
//! assert!(charge().is_err(), "rejected while forced open");
//! b.reset();
//! assert!(charge().is_ok());
//! ```

#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod breaker;
mod bulkhead;
#[cfg(feature = "cache")]
mod cache;
mod call_span;
mod clock;
pub mod config;
mod drain;
mod error;
#[cfg(feature = "metrics")]
mod facade;
mod fallback;
mod figures;
#[cfg(feature = "redis")]
pub mod fleet;
mod gate;
mod health;
mod keys;
mod labels;
mod listed;
pub mod metrics;
mod monitor;
mod observe;
mod policy;
mod rate_limit;
mod retry;
pub mod returns;
mod shard;
mod stacked;
mod stats;
pub mod status;
mod task;
mod text;
mod timeout;

#[doc(hidden)]
#[allow(missing_docs)]
pub mod __private;

pub use breaker::{Breaker, BreakerKey, BreakerState, breaker, breakers};
pub use bulkhead::{Bulkhead, BulkheadFull, FullReason, bulkhead_named as bulkhead, bulkheads};
#[cfg(feature = "cache")]
pub use cache::{Cache, SharedError, cache, caches};
pub use drain::{
    DrainReport, DrainedFunction, DrainedTask, ShuttingDown, TaskEnd, drain, drain_blocking,
    is_shutting_down, shutdown_requested,
};
pub use error::{CircuitOpen, Elapsed};
pub use gate::Rejection;
pub use health::{Health, HealthStatus, health};
pub use policy::{BreakerPolicy, BulkheadPolicy, RateLimitPolicy, TimeoutPolicy};
pub use rate_limit::{RateLimited, RateLimiter, rate_limiter, rate_limiters};
pub use retry::{Backoff, Jitter, RetryPolicy};
/// Puts a circuit breaker in front of a function, sync or `async`.
///
/// While the breaker is open the body does not run: the call returns
/// `Err(CircuitOpen { .. }.into())` at once. The function must return `Result<T, E>` (or
/// an alias, such as `io::Result<T>` or `anyhow::Result<T>`) with
/// `E: From<`[`CircuitOpen`]`>`. The signature is untouched; `return` and `?` in the body
/// keep their meaning.
///
/// # Keys
///
/// | key | meaning | default |
/// |---|---|---|
/// | `name = "payments"` | registry name; functions naming the same breaker share it | `module_path!()::fn_name` |
/// | `failure_threshold = 5` | consecutive failures that open it | 5 |
/// | `failure_threshold = 3, window = "60s"` | open instead on 3 failures within any 60 s | — |
/// | `failure_rate = 0.5, minimum_calls = 20, window = "60s"` | open when the failure rate over the sliding window reaches 0.5, once it holds 20 calls | `minimum_calls = 20`, `window = "60s"` |
/// | `open_for = "30s"` | how long it stays open before it lets probes through | 30s |
/// | `half_open_probes = 1` | calls admitted while half-open, in all; all must succeed to close, one failure reopens | 1 |
/// | `failure_if = path::to::fn` | `fn(&E) -> bool`: which errors count as failures; others count for nothing | every `Err` |
/// | `key = expr` | one breaker per value of `expr`, made of the arguments (`Hash + Eq + Debug`; a borrowed `&str` works) | one breaker |
/// | `max_keys = 1024` | with `key`: how many per-key breakers to keep; idle closed ones are evicted | 1024 |
/// | `critical` | while it is open, [`health`] is Unhealthy (503); otherwise an open breaker is only Degraded | not critical |
/// | `policy = PAYMENTS` | a [`BreakerPolicy`] `const` whose settings (and name) the function takes; keys written beside it override them | the defaults |
/// | `scope = "fleet"`, `quorum = 2` | (feature `redis`, after `fleet::connect`) the breaker still decides locally, publishes an expiring marker while its own failures hold it open, and is held open while at least `quorum` nodes' markers say so (read once a second; not with `key`) | `"local"`; quorum 2 |
/// | `per_key_metrics` | with `key`: also a Prometheus state series per key (by default the per-key breakers of a function are exported as figures of the function, so label sets stay bounded) | per function |
///
/// Durations are string literals with a unit (`"250ms"`, `"2s"`, `"1.5m"`, `"1h"`),
/// checked at compile time, or any expression of type `std::time::Duration`. Counts and
/// rates are literals, checked at compile time, or any expression of their type (a `const`:
/// `failure_threshold = THRESHOLD`), checked at the breaker's first call: a value out of
/// range is logged as an error naming the key, and the nearest valid value is used.
///
/// Functions that name the same breaker share it, with the settings of the one registered
/// first: another with different settings uses those, and a warning names the breaker.
/// Share a [`BreakerPolicy`] instead (`policy = PAYMENTS`), which cannot disagree with
/// itself; keys written beside `policy` override it for that function.
///
/// A rejection carries the cause: [`CircuitOpen::last_failure`] is the `Display` (else the
/// `Debug`) of the failure that opened the breaker, and its own `Display` shows it.
///
/// A panic in the body counts as a failure and keeps unwinding. A cancelled call (its
/// future dropped) counts for nothing and gives back a half-open probe slot. A probe that
/// has not ended `open_for` after the breaker turned half-open is presumed lost: a new
/// half-open cycle begins, so a leaked probe cannot wedge the breaker.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast::{BreakerState, CircuitOpen, circuit_breaker};
///
/// #[derive(Debug)]
/// enum PayError {
///     Declined,
///     ProviderDown,
///     Unavailable(CircuitOpen),
/// }
///
/// impl From<CircuitOpen> for PayError {
///     fn from(e: CircuitOpen) -> Self {
///         PayError::Unavailable(e)
///     }
/// }
///
/// // Declines are the customer's problem, not the provider's: they do not count.
/// fn provider_fault(e: &PayError) -> bool {
///     !matches!(e, PayError::Declined)
/// }
///
/// #[circuit_breaker(name = "payments", failure_threshold = 2, open_for = "1m", failure_if = provider_fault)]
/// fn charge(cents: u64, provider_up: bool) -> Result<u64, PayError> {
///     if !provider_up {
///         return Err(PayError::ProviderDown);
///     }
///     if cents > 10_000 {
///         return Err(PayError::Declined);
///     }
///     Ok(cents)
/// }
///
/// assert!(matches!(charge(50_000, true), Err(PayError::Declined)));
/// assert!(matches!(charge(50_000, true), Err(PayError::Declined)));
/// let payments = steadfast::breaker("payments").unwrap();
/// assert_eq!(payments.state(), BreakerState::Closed, "declines do not count");
///
/// let _ = charge(100, false);
/// let _ = charge(100, false);
/// assert_eq!(payments.state(), BreakerState::Open);
/// match charge(100, true) {
///     Err(PayError::Unavailable(open)) => {
///         assert_eq!(open.name(), "payments");
///         assert!(open.retry_after() <= Duration::from_secs(60));
///     }
///     other => panic!("expected a rejection, got {other:?}"),
/// }
/// ```
///
/// An `async fn` works the same way, and so do methods, generic functions, native
/// `async fn` in traits and `#[async_trait]` methods:
///
/// ```
/// # #[derive(Debug)] struct Error; impl From<steadfast::CircuitOpen> for Error { fn from(_: steadfast::CircuitOpen) -> Self { Error } }
/// struct Fleet;
///
/// impl Fleet {
///     /// One breaker per host: a failing host does not take the others down with it.
///     #[steadfast::circuit_breaker(key = host, failure_threshold = 3, window = "60s", open_for = "60s")]
///     async fn ping(&self, host: &str) -> Result<(), Error> {
///         Ok(())
///     }
/// }
/// ```
///
/// # The commonest mistake
///
/// The error type must be able to hold a [`CircuitOpen`]: this does not compile, because
/// `String` has no `From<CircuitOpen>`. Add a variant to your error type with that `From`,
/// or use `anyhow::Error` / `Box<dyn Error + Send + Sync>`, which have it.
///
/// ```compile_fail,E0277
/// #[steadfast::circuit_breaker]
/// fn lookup(id: u32) -> Result<String, String> {
///     Ok(id.to_string())
/// }
/// ```
pub use steadfast_macros::circuit_breaker;
/// Retries the function when it returns `Err`, with backoff, sync or `async`.
///
/// The function must return `Result<T, E>` (or an alias). The last error is returned
/// unchanged. Sync functions sleep the thread between attempts; async ones await
/// `tokio::time::sleep` (so `tokio::time::pause()` makes tests instant and exact), and
/// dropping the future during a wait ends the retrying. No wait follows the last attempt.
///
/// Arguments taken by value are cloned for every attempt (a type that is not `Clone` is a
/// compile error on that argument); `&self`, `&mut self` and borrowed arguments are
/// borrowed again for each attempt, without cloning. Take by reference what the body does
/// not consume.
///
/// # Keys
///
/// | key | meaning | default |
/// |---|---|---|
/// | `attempts = 3` | attempts in all, the first included (≥ 1) | 3 |
/// | `delay = "100ms"` | wait before the second attempt | 100ms |
/// | `backoff = "exponential"` | `"constant"`, `"linear"` (`delay × n`) or `"exponential"` (`delay × multiplier^(n-1)`) | exponential |
/// | `multiplier = 2.0` | growth per attempt, for exponential (≥ 1) | 2.0 |
/// | `max_delay = "10s"` | cap on one wait | 10s |
/// | `jitter = "full"` | on the capped wait `d`: `"none"` = d, `"full"` = U(0, d), `"equal"` = d/2 + U(0, d/2), `"decorrelated"` = min(max_delay, U(delay, 3 × previous wait)) | full |
/// | `max_elapsed = "30s"` | give up once this much time has passed since the first attempt: a wait that would cross it is not taken | none |
/// | `retry_if = path::to::fn` | `fn(&E) -> bool`: which errors are retried; the others are returned at once | every `Err` |
/// | `policy = BACKEND` | a [`RetryPolicy`] `const` whose settings the function takes; keys written beside it override them | the defaults |
///
/// All arithmetic saturates: no `attempts`, `multiplier` or delay overflows, panics or
/// wraps, and no wait exceeds `max_delay`. `attempts` and `multiplier` take a literal,
/// checked at compile time, or any expression of their type (`attempts = MAX_ATTEMPTS`),
/// checked at the function's first call (out of range: an error logged naming the key, the
/// nearest valid value used), as durations do.
///
/// # Stacking
///
/// The attribute written first is the outermost. `#[retry] #[timeout("2s")]` gives every
/// attempt its own deadline; `#[timeout("2s")] #[retry]` bounds the whole call, waits
/// included. `#[retry]` written above `#[circuit_breaker]` does not spend attempts on a
/// breaker that rejects the call: when the breaker's `retry_after()` is no longer than
/// `max_delay` and fits in what is left of `max_elapsed`, the next wait is
/// `max(backoff delay, retry_after)`; otherwise the `CircuitOpen` is returned at once.
/// (Rejections have a budget of `attempts` of their own, so a breaker whose probes keep
/// being taken by other callers cannot hold a call for ever.)
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast::retry;
///
/// #[derive(Debug, PartialEq)]
/// enum FetchError {
///     Unavailable,
///     NotFound,
/// }
///
/// fn transient(e: &FetchError) -> bool {
///     *e == FetchError::Unavailable
/// }
///
/// #[retry(attempts = 4, delay = "50ms", jitter = "none", retry_if = transient)]
/// async fn fetch(path: String, fail_first: &std::sync::atomic::AtomicU32) -> Result<String, FetchError> {
///     use std::sync::atomic::Ordering;
///     if fail_first.fetch_sub(1, Ordering::SeqCst) > 0 {
///         return Err(FetchError::Unavailable);
///     }
///     Ok(format!("contents of {path}"))
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let failures = std::sync::atomic::AtomicU32::new(2);
/// assert_eq!(fetch("a.txt".into(), &failures).await.unwrap(), "contents of a.txt");
/// // Two failures, two waits: 50 ms, then 100 ms (exponential, no jitter).
/// assert_eq!(start.elapsed(), Duration::from_millis(150));
/// # }
/// ```
///
/// # The commonest mistake
///
/// An argument taken by value must be `Clone`, since every attempt consumes a copy:
///
/// ```compile_fail,E0277
/// struct Connection;
///
/// #[steadfast::retry]
/// fn send(conn: Connection) -> Result<(), std::io::Error> {
///     Ok(())
/// }
/// ```
///
/// Take it by reference (`conn: &Connection`), or derive `Clone`.
pub use steadfast_macros::retry;
pub use task::{Task, TaskState, task, tasks};

/// Puts a deadline on the function.
///
/// On an `async fn`, the body is dropped (cancelled) at the deadline and the call returns
/// `Err(Elapsed { .. }.into())`; the function must return `Result<T, E>` with
/// `E: From<`[`Elapsed`]`>` (`anyhow::Error`, `io::Error` — as `ErrorKind::TimedOut` — and
/// `Box<dyn Error + Send + Sync>` have it). The deadline is `"250ms"`, `"2s"`, `"1m"`… or
/// any expression of type `Duration`. The deadline runs from the call's start (time the body
/// spends before its first wait counts); the body is polled first, and a timer starts only
/// if it has to wait, for what is left: a body that is ready at once costs one raw clock
/// read, about half of what `tokio::time::timeout` costs. As with tokio, a body that blocks
/// its thread (a sync call that does not yield) is not interrupted: only a wait can be cut
/// short, so the deadline is enforced at the body's next wait. Needs a tokio runtime with
/// time enabled, like `tokio::time::timeout`; outside one, the deadline is not enforced
/// and an error is logged once.
///
/// `#[timeout(policy = SLOW)]` takes the deadline of a [`TimeoutPolicy`] `const`; a deadline
/// written beside it overrides it.
///
/// A sync body cannot be interrupted, so plain `#[timeout]` on a sync function is a compile
/// error. `#[timeout("2s", detach)]` runs the body on a thread of its own and returns
/// `Elapsed` at the deadline while that thread finishes by itself (its result dropped);
/// arguments and result must be `Send + 'static`, and a panic in the body is raised again
/// in the caller. It costs a thread per call, about 40 µs here; a pool would be taken over
/// by the very bodies that overran. At most 64 bodies of one function run at once: past
/// that (a dependency hangs), a call is refused at once, its body not run, with an
/// `Elapsed` whose [`is_refused()`](Elapsed::is_refused) is true.
///
/// # Stacking
///
/// `#[retry] #[timeout("2s")]`: each attempt has its own 2 s. `#[timeout("2s")] #[retry]`:
/// the whole call, waits included, has 2 s. `#[circuit_breaker] #[timeout]`: a call past
/// its deadline counts as a failure of the breaker. `#[timeout] #[circuit_breaker]`: the
/// breaker's call is cancelled at the deadline and counts for nothing.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Elapsed, timeout};
///
/// #[derive(Debug)]
/// enum QuoteError {
///     TooSlow(Elapsed),
/// }
///
/// impl From<Elapsed> for QuoteError {
///     fn from(e: Elapsed) -> Self {
///         QuoteError::TooSlow(e)
///     }
/// }
///
/// #[timeout("2s")]
/// async fn quote(latency: Duration) -> Result<f64, QuoteError> {
///     tokio::time::sleep(latency).await;
///     Ok(101.5)
/// }
///
/// #[timeout("100ms", detach)]
/// fn checksum(data: Vec<u8>) -> Result<u32, QuoteError> {
///     Ok(data.iter().map(|b| u32::from(*b)).sum())
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// assert_eq!(quote(Duration::from_millis(10)).await.unwrap(), 101.5);
/// let Err(QuoteError::TooSlow(e)) = quote(Duration::from_secs(5)).await else { panic!() };
/// assert_eq!(e.after(), Duration::from_secs(2));
/// assert_eq!(checksum(vec![1, 2, 3]).unwrap(), 6);
/// # }
/// ```
///
/// # The commonest mistake
///
/// A sync function without `detach`: the compiler says why and shows the fix.
///
/// ```compile_fail
/// #[steadfast::timeout("2s")]
/// fn read_config() -> Result<String, std::io::Error> {
///     std::fs::read_to_string("app.toml")
/// }
/// ```
pub use steadfast_macros::timeout;

/// Records every call of the function, sync or `async`, with any return type.
///
/// Per function: calls, successes, errors (`Err` results and panics), calls in flight
/// (back to its value when a call ends, panics or is dropped), and a latency histogram
/// (quantiles within about 3 %, from microseconds to minutes). Each call runs in a
/// `tracing` span named after the function, at `level`; each error is an `ERROR` event in
/// it (target `steadfast`, fields `function` and `error`) carrying the error's `Display`
/// (or `Debug`). Arguments are not recorded. A call turned away by a gate below it (an
/// open `#[circuit_breaker]`, also through a `#[retry]` that gives up on it) is counted
/// among the errors and in [`FunctionMetrics::rejected`](metrics::FunctionMetrics::rejected),
/// and not logged: during an outage the breaker logs its transitions, not every call.
///
/// Read it all with [`metrics::snapshot`], [`metrics::prometheus`] and [`health`].
///
/// | key | meaning | default |
/// |---|---|---|
/// | `name = "quotes.fetch"` | the `function` label and the metrics' name | `module_path!()::fn_name` |
/// | `level = "debug"` | the span's level: `"trace"`, `"debug"`, `"info"`, `"warn"`, `"error"` | `"info"` |
/// | `drain = "reject"` | while the process drains ([`drain`]), new calls return `Err(ShuttingDown.into())` without running; `"cancel"`: also, async calls still running at the drain's deadline are dropped and return it (a sync call cannot be dropped: it is reported) | none: calls run, and a drain waits for them |
///
/// With `drain`, the function must return `Result<T, E>` with `E: From<ShuttingDown>`. A
/// call made from inside an admitted `#[monitored]` call (on the same thread, or polled
/// inside its future) is admitted while draining: work in flight can finish what it
/// started. A call spawned onto another task or thread is new work.
///
/// Recording takes no lock and two threads do not write the same memory: each thread
/// writes its own cache-padded shard of the counters.
///
/// ```
/// use steadfast::monitored;
///
/// #[monitored(name = "inventory.count", level = "debug")]
/// fn count(items: &[u32]) -> usize {
///     items.len()
/// }
///
/// count(&[1, 2, 3]);
/// let m = steadfast::metrics::snapshot()
///     .into_iter()
///     .find(|m| m.name == "inventory.count")
///     .expect("recorded on first call");
/// assert_eq!((m.calls, m.successes, m.errors, m.in_flight), (1, 1, 0, 0));
/// assert!(steadfast::metrics::prometheus().contains("steadfast_calls_total{function=\"inventory.count\"} 1"));
/// ```
///
/// The commonest mistake is an unknown key, which is a compile error naming the valid ones:
///
/// ```compile_fail
/// #[steadfast::monitored(label = "fetch")]
/// fn fetch() {}
/// ```
pub use steadfast_macros::monitored;

/// Runs a long-lived function (a queue consumer, a watchdog loop) as a supervised task:
/// restarted with backoff when it fails or panics, given up on loudly, stopped on
/// shutdown. Sync or `async`.
///
/// The function stays callable as written (one run, unsupervised: handy in tests). The
/// attribute adds a companion `fn <name>_supervised(args…) -> Task` that runs it under
/// supervision: an `async fn` on `tokio::spawn` (call the companion inside a runtime), a
/// sync one on a thread named after the task. Each run calls the function anew on clones
/// of the arguments, so each argument must be `Clone + Send + 'static` (a method takes
/// `self` by value, `self: Arc<Self>` for a shared one).
///
/// | key | meaning | default |
/// |---|---|---|
/// | `restart = "transient"` | `"transient"`: restart after `Err` or a panic, stop after `Ok`; `"permanent"`: restart after `Ok` too | transient |
/// | `delay`, `max_delay`, `multiplier`, `jitter` | the backoff between restarts, in `#[retry]`'s words | 1s, 30s, 2.0, full |
/// | `max_restarts = 5`, `within = "60s"` | give up after more than 5 restarts within any 60 s | 5, 60s |
/// | `reset_after` | a run this long brings the backoff back to `delay` | `max_delay` |
/// | `shutdown = "10s"` | how long a run has after the shutdown signal before it is dropped (an async one) | 10s |
/// | `critical` | when it gives up, [`health`] is Unhealthy rather than Degraded | off |
/// | `name` | the name of [`task`] and of its metrics | `#[monitored]`'s `name`, else `module::fn` |
///
/// The function returns `()` or a `Result` whose error is `Display`; an `Err` or a panic is
/// a failure, logged (`WARN`) with its message and kept as [`Task::last_error`]. A run
/// that returns `Ok` with `restart = "transient"` ends the task ([`TaskState::Stopped`]).
/// Giving up is an `ERROR` event and [`TaskState::Failed`]. Restarts are counted when
/// decided, at the failure: "more than 5 within 60 s" is the sixth failure within a minute
/// of the first. A `within` that the backoff alone (before jitter) spreads
/// `max_restarts + 1` failures beyond is a compile error naming both: the task could never
/// give up.
///
/// Inside the function, [`shutdown_requested`] (a future) and [`is_shutting_down`] say
/// when to finish: on [`drain`] and on [`Task::stop`]. No run starts after either.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// #[steadfast::supervised(delay = "10ms", max_restarts = 2, within = "1m", jitter = "none")]
/// fn flaky(runs: Arc<AtomicU32>) -> Result<(), String> {
///     let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
///     if n < 3 { Err(format!("run {n} failed")) } else { Ok(()) }
/// }
///
/// let runs = Arc::new(AtomicU32::new(0));
/// let task = flaky_supervised(runs.clone());
/// // Two failures, two restarts 10 ms and 20 ms later, then a success: it stops.
/// while task.state() != steadfast::TaskState::Stopped {
///     std::thread::sleep(std::time::Duration::from_millis(5));
/// }
/// assert_eq!(runs.load(Ordering::SeqCst), 3);
/// assert_eq!(task.restarts(), 2);
/// assert_eq!(task.last_error().as_deref(), Some("run 2 failed"));
/// ```
///
/// A `within` the backoff can never fill is a compile error:
///
/// ```compile_fail
/// #[steadfast::supervised(delay = "10s", within = "30s")]
/// fn watch() {}
/// ```
pub use steadfast_macros::supervised;

/// Limits how often the function runs: `rate` calls `per` period, sync or `async`.
///
/// GCRA (the generic cell rate algorithm): one atomic word per limiter, no timer thread and
/// no window, so never twice the burst across a boundary. A call whose turn has come runs
/// at once; one whose turn is at most `max_wait` away reserves it (callers are served in
/// arrival order) and waits for it (async: a tokio timer; sync: its thread sleeps); any
/// other returns `Err(RateLimited)` at once, without waiting, with
/// [`retry_after`](RateLimited::retry_after) exactly how long until a turn.
///
/// | key | meaning | default |
/// |---|---|---|
/// | `rate = 100` | calls per `per` (1 to 2^32 − 1) | required (unless a `policy` gives it) |
/// | `per = "1s"` | the period of `rate` | one second |
/// | `burst = 10` | calls admitted back to back from idle | `rate` |
/// | `max_wait = "2s"` | how long a call may wait for its turn | not at all |
/// | `name = "quotes.api"` | its name; functions that name one limiter share it | its policy's name, else `module_path!()::fn_name` |
/// | `policy = QUOTES_API` | a [`RateLimitPolicy`] `const` whose settings (and name) the function takes; keys written beside it override them | none |
/// | `scope = "fleet"`, `expected_nodes = 3` | (feature `redis`, after `fleet::connect`) one limit for every process, decided on Redis; when Redis is slow or down this process decides alone at `rate / expected_nodes` (not with `key`) | `"local"`; 1 |
///
/// The function must return `Result<T, E>` with `impl From<RateLimited> for E`
/// (`io::Error`, `anyhow::Error` and `Box<dyn Error + Send + Sync>` have it). With other
/// attributes: a [`retry`] above waits a turn out without spending an attempt (when it
/// fits the retry's `max_delay`); a [`circuit_breaker`] above counts a rejection for
/// nothing (it is this process's own limit, not a sign that the dependency is down); a
/// [`monitored`] above counts it among rejections without logging it. Read it with
/// [`rate_limiter`] and [`rate_limiters`] and in [`metrics::prometheus`]
/// (`steadfast_rate_limited_total{limiter}`).
///
/// ```
/// use std::time::Duration;
/// use steadfast::{RateLimited, rate_limit};
///
/// #[rate_limit(rate = 2, per = "1m", name = "docs.quotes")]
/// fn quote(symbol: &str) -> Result<u32, RateLimited> {
///     Ok(symbol.len() as u32)
/// }
///
/// assert!(quote("A").is_ok());
/// assert!(quote("B").is_ok());
/// let limited = quote("C").unwrap_err();
/// assert!(limited.retry_after() <= Duration::from_secs(30));
/// assert_eq!(steadfast::rate_limiter("docs.quotes").unwrap().limited(), 1);
/// ```
///
/// A zero `rate`, `burst` or `per` is a compile error on the value:
///
/// ```compile_fail
/// #[steadfast::rate_limit(rate = 0)]
/// fn never() -> Result<(), steadfast::RateLimited> { Ok(()) }
/// ```
pub use steadfast_macros::rate_limit;

/// Keeps the function's successes in a bounded cache (feature `cache`), sync or `async`.
///
/// | key | meaning | default |
/// |---|---|---|
/// | `max_entries = 10_000` | entries kept at most | required |
/// | `ttl = "5m"` | time to live from insertion | none |
/// | `tti = "1m"` | time to idle since the last read | none |
/// | `key = expr` | the key: any `Hash + Eq + Clone + Send + Sync + 'static` value of the arguments | the argument made owned (`&str` → `String`, `Option<&T>` → `Option<T>`), a tuple of them when several |
/// | `name = "quotes"` | the name [`cache()`](fn@cache) finds it by | `module_path!()::fn_name` |
///
/// Only successes are stored: for `Result<T, E>` the `T` of an `Ok` (decided by the type,
/// so aliases work); any other return type is stored as it is. Concurrent first calls for
/// one key run the body once: the others wait and get its value, or, if it failed, a clone
/// of its error when `E: Clone + Send + Sync`, else `E::from(SharedError)` (the return
/// type must allow one of the two). A first call that is cancelled or panics hands over
/// to one of the waiters. A call that, while computing a key, calls its own function with
/// the same key runs without the cache (with a warning) instead of waiting for itself. A
/// method taking `self` needs a `key` (else every instance would share one cache).
/// `#[cached]` below `#[retry]`, `#[circuit_breaker]` or `#[timeout]` is a compile error.
/// Built on moka; steadfast's API does not expose it.
#[cfg(feature = "cache")]
pub use steadfast_macros::cached;

/// Without the feature `cache`, `#[cached]` is a compile error that names the feature.
#[cfg(not(feature = "cache"))]
pub use steadfast_macros::cached;

/// Returns another function's result in place of this one's error, sync or `async`.
///
/// `#[fallback(cached_quote)]` calls `cached_quote(error)` when the function returns
/// `Err(error)` (its own error, or a rejection of an attribute below it, converted into its
/// error type), and returns what it returns, `Ok` or `Err`, as it is:
///
/// | form | the fallback is |
/// |---|---|
/// | `#[fallback(f)]` | `fn(E) -> R`: the error, and the function's return type `R = Result<T, E>` |
/// | `#[fallback(f, args)]` | `fn(&A1, …, &An, E) -> R`: a reference to each argument first (`&self` as `&Self`) |
/// | `#[fallback(f, on = is_outage)]` | called only for errors `is_outage: fn(&E) -> bool` says yes to; others are returned as they are |
///
/// On an `async fn` the fallback is an `async fn` of the same shape. With `args`, each
/// argument taken by value is cloned before the body runs (it must be `Clone`; a reference
/// is copied), so the fallback sees what the body received. Never called on `Ok`, on a
/// panic (it keeps unwinding) or when the call is cancelled (its future dropped). A
/// fallback of the wrong shape is one compile error on its path, naming the shape expected.
/// Counted in [`metrics::snapshot()`](metrics::snapshot) (`fallbacks`) and Prometheus
/// (`steadfast_fallbacks_total{function}`). `#[fallback]` below `#[retry]` is a compile
/// error: the retry would never see an error to retry.
///
/// ```
/// use steadfast::{CircuitOpen, circuit_breaker, fallback};
///
/// #[derive(Debug, PartialEq)]
/// enum QuoteError { Down, Open }
/// impl From<CircuitOpen> for QuoteError {
///     fn from(_: CircuitOpen) -> Self { QuoteError::Open }
/// }
///
/// fn last_known(symbol: &&str, _error: QuoteError) -> Result<u64, QuoteError> {
///     Ok(if *symbol == "ACME" { 100 } else { 0 })
/// }
///
/// #[fallback(last_known, args)]
/// #[circuit_breaker(failure_threshold = 1, open_for = "1h", name = "docs.quotes")]
/// fn quote(symbol: &str) -> Result<u64, QuoteError> {
///     let _ = symbol;
///     Err(QuoteError::Down)
/// }
///
/// assert_eq!(quote("ACME"), Ok(100)); // fails, the breaker opens, the fallback answers
/// assert_eq!(quote("ACME"), Ok(100)); // rejected at once, the fallback answers
/// ```
///
/// A fallback of the wrong shape does not compile:
///
/// ```compile_fail
/// fn wrong(_error: std::io::Error) -> Option<u64> { None }
///
/// #[steadfast::fallback(wrong)]
/// fn read() -> std::io::Result<u64> { Ok(1) }
/// ```
pub use steadfast_macros::fallback;

/// Bounds the calls of the function inside at once, sync or `async`.
///
/// A slot is taken when the call starts and given back when it ends, panics or is dropped.
/// Callers that find every slot in use wait up to `max_wait` (async: the task; sync: the
/// thread), served strictly first come, first served, sync and async callers of one named
/// bulkhead alike: a newcomer never takes a slot while others wait. Otherwise the call
/// returns `Err(BulkheadFull)` at once, with [`reason()`](BulkheadFull::reason) `Full` (no
/// wait allowed), `QueueFull` (`max_queue` callers already waiting) or `WaitedOut`.
///
/// | key | meaning | default |
/// |---|---|---|
/// | `max_concurrent = 10` | calls inside at once | required (unless a `policy` gives it) |
/// | `max_wait = "250ms"` | how long a call may wait for a slot | not at all |
/// | `max_queue = 100` | callers allowed to wait at once; only with `max_wait` | bounded by `max_wait` alone |
/// | `name = "converter"` | its name; functions that name one bulkhead share it | its policy's name, else `module_path!()::fn_name` |
/// | `policy = CONVERTERS` | a [`BulkheadPolicy`] `const` whose settings (and name) the function takes; keys written beside it override them | none |
/// | `key = tenant` | one set of `max_concurrent` slots per value of this expression of the arguments (`Hash + Eq + Debug`, owned or borrowed) | one set |
/// | `max_keys = 1024` | keys kept at most; only with `key` | 1,024 |
///
/// A key with nothing inside or waiting is evicted when a new key needs its place. With
/// every kept key busy, a call with a new key is turned away (`Full`), never let in
/// unbounded, and a warning is logged once.
///
/// The function must return `Result<T, E>` with `impl From<BulkheadFull> for E`. A
/// [`circuit_breaker`] above counts a `BulkheadFull` for nothing (this process's own limit);
/// a [`retry`] above returns it at once (when a slot frees up is not known); a
/// [`monitored`] above counts it as a rejection, not logged. A sync bulkhead with
/// `max_wait` called on a tokio runtime's thread blocks it: a warning says so once. Read it
/// with [`bulkhead()`](fn@bulkhead) and [`bulkheads`].
///
/// ```
/// use steadfast::{BulkheadFull, FullReason, bulkhead};
///
/// #[bulkhead(max_concurrent = 1, name = "docs.converter")]
/// fn convert(inner: Option<fn() -> Result<(), BulkheadFull>>) -> Result<(), BulkheadFull> {
///     match inner {
///         Some(f) => f(), // a second call while this one is inside
///         None => Ok(()),
///     }
/// }
///
/// fn again() -> Result<(), BulkheadFull> {
///     convert(None)
/// }
///
/// let full = convert(Some(again)).unwrap_err();
/// assert_eq!(full.reason(), FullReason::Full);
/// assert_eq!(steadfast::bulkhead("docs.converter").unwrap().in_use(), 0);
/// ```
///
/// A queue without a wait is a compile error:
///
/// ```compile_fail
/// #[steadfast::bulkhead(max_concurrent = 4, max_queue = 10)]
/// fn convert() -> Result<(), steadfast::BulkheadFull> { Ok(()) }
/// ```
pub use steadfast_macros::bulkhead;
