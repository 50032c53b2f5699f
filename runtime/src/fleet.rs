//! Beyond one process (feature `redis`): `#[rate_limit(…, scope = "fleet")]` limits shared
//! by every process of a service, and `#[circuit_breaker(…, scope = "fleet", quorum = n)]`
//! breakers opened for every process when enough of them see a dependency down, through
//! Redis.
//!
//! At start-up, [`connect`] (or [`connect_blocking`]) names the Redis server and the
//! application (every key is prefixed with it, so two applications on one server never
//! share a limit). Each call of a fleet-scoped rate-limited function is then one atomic
//! decision on the server: a Lua script runs the same GCRA as a local limiter, on the
//! server's own clock (node clocks are never compared), and the limiter's key expires when
//! it is back to full, so memory stays bounded with no sweeper. Fleet-scoped breakers
//! decide locally; a background refresh (once a second) publishes each node's own open
//! breakers as expiring markers and reads the others'.
//!
//! **Faults.** A decision that does not come back within the deadline ([`DEADLINE`], or
//! [`set_deadline`]) is taken locally instead, at `rate / expected_nodes`: no call waits
//! longer than the deadline because of Redis. One slow answer decides only its own call;
//! three in a row, or an error of the connection, take Redis for down:
//! [`health()`](crate::health) is Degraded with the reason, one warning is logged, and one
//! call a second asks Redis again while the others decide locally; when Redis answers, the
//! limits are shared again (logged once). A restarted process does not reset the shared
//! state: it is in Redis. Before [`connect`], fleet-scoped limits are local.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::RateLimited;
use crate::clock::{Clock, SystemClock, duration_nanos};
use crate::rate_limit::{Limiter, LimiterSlot};

/// How long a decision may take on Redis before it is taken locally, by default: 5 ms.
/// [`set_deadline`] changes it (a network with slower round trips than loopback or one
/// rack needs more).
pub const DEADLINE: Duration = Duration::from_millis(5);
/// Slow answers in a row after which Redis is taken for down (then one call a second asks
/// it): one slow answer decides only its own call locally.
const SLOW_IN_A_ROW: u32 = 3;

static DEADLINE_NANOS: AtomicU64 = AtomicU64::new(5_000_000);

/// How long a fleet-scoped call waits for Redis before deciding locally; [`DEADLINE`]
/// until set. Applies from the next call on.
pub fn set_deadline(deadline: Duration) {
    DEADLINE_NANOS.store(duration_nanos(deadline).max(1), Relaxed);
}

fn deadline() -> Duration {
    Duration::from_nanos(DEADLINE_NANOS.load(Relaxed))
}
/// How long [`connect`] waits for its first connection (a call never waits for one longer
/// than [`DEADLINE`]).
const CONNECT_DEADLINE: Duration = Duration::from_secs(1);
/// While Redis does not answer, how often one call asks it again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// GCRA on the server: the theoretical arrival time (TAT) of the limiter in microseconds
/// of the server's clock, the same arithmetic as a local limiter. Returns `{n, wait}` (`n`
/// turns admitted, the first after `wait` µs) or `{0, retry_after}`. With a lease of more
/// than one turn (`ARGV[4]`), it takes as many turns as are free now, up to the lease, and
/// the caller spends the others; with none free now, one turn as without a lease.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local turns = 1
local wait = 0
if lease > 1 then
  turns = math.floor((now + tolerance - tat) / interval)
  if turns > lease then turns = lease end
end
if turns < 1 or lease <= 1 then
  turns = 1
  wait = tat + interval - now - tolerance
  if wait < 0 then wait = 0 end
  if wait > max_wait then return {0, wait} end
end
local nxt = tat + turns * interval
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.floor((nxt - now) / 1000) + 1)
return {turns, wait}
";

/// What [`connect`] refuses: a malformed URL or application name. A server that cannot
/// be reached is not an error (limits stay local until it answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetError {
    message: String,
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FleetError {}

/// The connection to the fleet's Redis.
struct Fleet {
    client: redis::Client,
    /// The URL without its password, for messages.
    shown: String,
    app: String,
    script: redis::Script,
    connection: Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// While Redis does not answer: when (clock nanoseconds) one call may ask again; 0
    /// when it answers.
    retry_at: AtomicU64,
    down: AtomicBool,
    /// Why it is down, for `health()`.
    why: Mutex<Option<String>>,
    /// Answers in a row that came after the deadline.
    slow: std::sync::atomic::AtomicU32,
}

static FLEET: ArcSwapOption<Fleet> = ArcSwapOption::const_empty();

thread_local! {
    /// A sync function's connection, one per thread (a sync call blocks its thread anyway).
    static SYNC: std::cell::RefCell<Option<(usize, redis::Connection)>> =
        const { std::cell::RefCell::new(None) };
}

fn fleet(url: &str, app: &str) -> Result<Fleet, FleetError> {
    let valid_app = !app.is_empty()
        && app.len() <= 64
        && app
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid_app {
        return Err(FleetError {
            message: format!(
                "fleet app name {app:?}: 1 to 64 of ASCII letters, digits, `-`, `_`, `.` (every Redis key starts with it)"
            ),
        });
    }
    let client = redis::Client::open(url).map_err(|e| FleetError {
        message: format!("fleet Redis URL: {e}"),
    })?;
    let info = client.get_connection_info();
    let shown = format!("{}", info.addr());
    Ok(Fleet {
        client,
        shown,
        app: app.to_owned(),
        script: redis::Script::new(SCRIPT),
        connection: Mutex::new(None),
        retry_at: AtomicU64::new(0),
        down: AtomicBool::new(false),
        why: Mutex::new(None),
        slow: std::sync::atomic::AtomicU32::new(0),
    })
}

/// Shares `scope = "fleet"` limits through the Redis at `url` (`redis://host:port`), under
/// keys prefixed with `app`. Call it once at start-up, inside the tokio runtime; calling it
/// again replaces the server. Only a malformed URL or app name is an error: a server that
/// cannot be reached yet is not (limits are local until it answers, and
/// [`health()`](crate::health) says so).
pub async fn connect(url: &str, app: &str) -> Result<(), FleetError> {
    let fleet = Arc::new(fleet(url, app)?);
    FLEET.store(Some(fleet.clone()));
    crate::observe::on_open_or_probe(refresh_now);
    tokio::spawn(refresh_breakers(fleet.clone()));
    // A first connection now, and the script loaded, so that the first calls need not
    // wait for either; a failure only marks the fleet down.
    if let Some(mut connection) = fleet.async_connection(CONNECT_DEADLINE).await {
        let load = redis::cmd("SCRIPT").arg("LOAD").arg(SCRIPT).clone();
        let loaded = tokio::time::timeout(
            CONNECT_DEADLINE,
            load.query_async::<String>(&mut connection),
        )
        .await;
        if let Ok(Err(e)) = loaded {
            fleet.failed(e.to_string());
        }
    }
    Ok(())
}

/// [`connect`] for a sync program: the connection of each thread is made at its first
/// fleet-scoped call.
pub fn connect_blocking(url: &str, app: &str) -> Result<(), FleetError> {
    let fleet = Arc::new(fleet(url, app)?);
    crate::observe::on_open_or_probe(refresh_now);
    // The script loaded now, so that the first calls need not wait for it.
    if let Ok(mut connection) = fleet.client.get_connection_with_timeout(CONNECT_DEADLINE) {
        let _ = connection.set_read_timeout(Some(CONNECT_DEADLINE));
        let _ = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(SCRIPT)
            .query::<String>(&mut connection);
    }
    FLEET.store(Some(fleet.clone()));
    let _ = std::thread::Builder::new()
        .name("steadfast-fleet".into())
        .spawn(move || refresh_breakers_blocking(fleet));
    Ok(())
}

/// The reason `health()` gives while Redis does not answer.
pub(crate) fn health_reason() -> Option<String> {
    let fleet = FLEET.load_full()?;
    if !fleet.down.load(Relaxed) {
        return None;
    }
    let why = fleet
        .why
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_default();
    Some(format!(
        "fleet: Redis at {} does not answer ({why}); scope = \"fleet\" limits are local",
        fleet.shown
    ))
}

impl Fleet {
    fn key(&self, limiter: &str) -> String {
        format!("{}:steadfast:rate:{limiter}", self.app)
    }

    /// Whether this call asks Redis: always while it answers; while it does not, one call
    /// a second (the one that moves `retry_at` on).
    fn should_ask(&self) -> bool {
        let at = self.retry_at.load(Relaxed);
        if at == 0 {
            return true;
        }
        let now = SystemClock.now().0;
        now >= at
            && self
                .retry_at
                .compare_exchange(at, now + duration_nanos(RETRY_EVERY), Relaxed, Relaxed)
                .is_ok()
    }

    #[cold]
    fn failed(&self, why: String) {
        self.retry_at.store(
            SystemClock.now().0.max(1) + duration_nanos(RETRY_EVERY),
            Relaxed,
        );
        if !self.down.swap(true, Relaxed) {
            tracing::warn!(
                target: "steadfast",
                redis = %self.shown,
                "fleet: Redis at {} does not answer within {:?} ({why}); scope = \"fleet\" limits are local until it does",
                self.shown,
                deadline()
            );
        }
        *self.why.lock().unwrap_or_else(PoisonError::into_inner) = Some(why);
    }

    /// An answer did not come within the deadline: this call decides locally; a few in a
    /// row and Redis is taken for down.
    #[cold]
    fn slow(&self) {
        if self.slow.fetch_add(1, Relaxed) + 1 >= SLOW_IN_A_ROW {
            self.slow.store(0, Relaxed);
            self.failed(format!(
                "{SLOW_IN_A_ROW} answers in a row slower than {:?}",
                deadline()
            ));
        }
    }

    fn answered(&self) {
        if self.slow.load(Relaxed) != 0 {
            self.slow.store(0, Relaxed);
        }
        if self.retry_at.load(Relaxed) != 0 {
            self.retry_at.store(0, Relaxed);
        }
        if self.down.swap(false, Relaxed) {
            tracing::info!(
                target: "steadfast",
                redis = %self.shown,
                "fleet: Redis at {} answers again; scope = \"fleet\" limits are shared",
                self.shown
            );
        }
    }

    async fn async_connection(
        &self,
        deadline: Duration,
    ) -> Option<redis::aio::MultiplexedConnection> {
        if let Some(c) = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Some(c);
        }
        match tokio::time::timeout(deadline, self.client.get_multiplexed_async_connection()).await {
            Ok(Ok(c)) => {
                *self
                    .connection
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                self.failed(e.to_string());
                None
            }
            Err(_) => {
                self.failed(format!("no connection within {deadline:?}"));
                None
            }
        }
    }

    fn forget_connection(&self) {
        *self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The arguments of the script for `limiter`: interval, tolerance and `max_wait`, in µs.
fn arguments(limiter: &Limiter) -> (u64, u64, u64) {
    let (interval, tolerance, max_wait) = limiter.fleet_arguments();
    let us = |nanos: u64| nanos.div_ceil(1_000);
    (
        us(interval).max(1),
        us(tolerance),
        nanos_to_us_floor(max_wait),
    )
}

fn nanos_to_us_floor(nanos: u64) -> u64 {
    nanos / 1_000
}

/// The server's answer as the limiter's: admitted after a wait (turns granted beyond the
/// first kept for the next calls), or limited (the retry rounded up to the microsecond).
fn decided(limiter: &Limiter, answer: (i64, i64)) -> Result<Duration, RateLimited> {
    let micros = Duration::from_micros(u64::try_from(answer.1).unwrap_or(0));
    match u64::try_from(answer.0) {
        Ok(turns @ 1..) => {
            limiter.keep_leased(turns - 1, SystemClock.now().0);
            limiter.count_admitted();
            Ok(micros)
        }
        _ => Err(limiter.count_limited(duration_nanos(micros))),
    }
}

/// A turn the fleet leased to this process earlier, if one is left: no round trip.
fn leased(limiter: &Limiter) -> Option<Result<Duration, RateLimited>> {
    (limiter.lease() > 1 && limiter.take_leased(SystemClock.now().0)).then(|| {
        limiter.count_admitted();
        Ok(Duration::ZERO)
    })
}

/// A fleet-scoped turn of an async function: the server's decision, or `None` to decide
/// locally (not connected, Redis down or slower than the deadline).
pub(crate) async fn take(slot: &'static LimiterSlot) -> Option<Result<Duration, RateLimited>> {
    if let Some(turn) = leased(slot.get()) {
        return Some(turn);
    }
    let fleet = FLEET.load_full()?;
    if !fleet.should_ask() {
        return None;
    }
    let mut connection = fleet.async_connection(deadline()).await?;
    let limiter = slot.get();
    let (interval, tolerance, max_wait) = arguments(limiter);
    let key = fleet.key(slot.name());
    let mut invocation = fleet.script.key(key);
    invocation
        .arg(interval)
        .arg(tolerance)
        .arg(max_wait)
        .arg(limiter.lease());
    let asked = tokio::time::timeout(
        deadline(),
        invocation.invoke_async::<(i64, i64)>(&mut connection),
    )
    .await;
    match asked {
        Ok(Ok(answer)) => {
            fleet.answered();
            Some(decided(limiter, answer))
        }
        Ok(Err(e)) => {
            if e.is_io_error() || e.is_connection_dropped() {
                fleet.forget_connection();
            }
            fleet.failed(e.to_string());
            None
        }
        Err(_) => {
            fleet.slow();
            None
        }
    }
}

/// [`take`] for a sync function, on its thread's own connection.
pub(crate) fn take_blocking(slot: &'static LimiterSlot) -> Option<Result<Duration, RateLimited>> {
    if let Some(turn) = leased(slot.get()) {
        return Some(turn);
    }
    let fleet = FLEET.load_full()?;
    if !fleet.should_ask() {
        return None;
    }
    let identity = Arc::as_ptr(&fleet) as usize;
    let limiter = slot.get();
    let (interval, tolerance, max_wait) = arguments(limiter);
    let key = fleet.key(slot.name());
    SYNC.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(of, _)| *of != identity) {
            let deadline = deadline();
            match fleet.client.get_connection_with_timeout(deadline) {
                Ok(c) => {
                    let _ = c.set_read_timeout(Some(deadline));
                    let _ = c.set_write_timeout(Some(deadline));
                    *cell = Some((identity, c));
                }
                Err(e) => {
                    fleet.failed(e.to_string());
                    return None;
                }
            }
        }
        let (_, connection) = cell.as_mut()?;
        let mut invocation = fleet.script.key(key);
        invocation
            .arg(interval)
            .arg(tolerance)
            .arg(max_wait)
            .arg(limiter.lease());
        match invocation.invoke::<(i64, i64)>(connection) {
            Ok(answer) => {
                fleet.answered();
                Some(decided(limiter, answer))
            }
            Err(e) => {
                // A timed-out connection may still get the late answer: never reuse it.
                *cell = None;
                if e.is_timeout() {
                    fleet.slow();
                } else {
                    fleet.failed(e.to_string());
                }
                None
            }
        }
    })
}

/// The fleet's opinion of a breaker: a sorted set per breaker, one member per node whose own
/// breaker is open, scored by when its marker expires (server milliseconds). Drops the
/// expired markers, refreshes this node's while its own breaker is open, and returns how
/// many nodes report it open.
const BREAKER_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
end
local n = redis.call('ZCARD', KEYS[1])
if n > 0 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[1], last[2])
end
return n
";

/// The `static` of a `#[circuit_breaker(scope = "fleet", quorum = n)]` function.
#[derive(Debug)]
pub struct FleetBreaker {
    quorum: u32,
    registered: AtomicBool,
    /// The local breaker is open because the fleet says so (not by its own failures).
    forced: AtomicBool,
}

impl FleetBreaker {
    /// A breaker that opens for the fleet while at least `quorum` nodes report it open.
    pub const fn new(quorum: u32) -> FleetBreaker {
        FleetBreaker {
            quorum,
            registered: AtomicBool::new(false),
            forced: AtomicBool::new(false),
        }
    }

    /// Called on each call (one load once registered): the breaker joins the fleet's
    /// refresh at its function's first call.
    #[inline]
    pub fn watch(&'static self, breaker: &'static crate::breaker::Core) {
        if !self.registered.load(Relaxed) {
            self.register(breaker);
        }
    }

    /// Joins the refresh, and has the fleet's view read at once: a breaker the fleet holds
    /// open is held here from a few milliseconds after its function's first call, not
    /// from the next second.
    #[cold]
    fn register(&'static self, breaker: &'static crate::breaker::Core) {
        if !self.registered.swap(true, Relaxed) {
            FLEET_BREAKERS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((breaker, self));
            refresh_now();
        }
    }
}

type Watched = (&'static crate::breaker::Core, &'static FleetBreaker);
static FLEET_BREAKERS: Mutex<Vec<Watched>> = Mutex::new(Vec::new());

/// This process among the fleet's nodes.
fn node_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| format!("{}-{:016x}", std::process::id(), fastrand::u64(..)))
}

/// How often each node reads the fleet's opinions (and refreshes its own).
const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// Wakes the refresh before its second is up: the async one, and the sync program's thread.
static WAKE: std::sync::LazyLock<tokio::sync::Notify> =
    std::sync::LazyLock::new(tokio::sync::Notify::new);
static WAKE_BLOCKING: (Mutex<bool>, std::sync::Condvar) =
    (Mutex::new(false), std::sync::Condvar::new());

/// A breaker of this node opened or turned half-open: the refresh runs at once, not at the
/// next second, so that its opening publishes its marker now, and a breaker the fleet
/// still holds open is held before more calls probe it. (Heard of every such turn once
/// connected; a no-op without a fleet-scoped breaker.)
pub(crate) fn refresh_now() {
    if FLEET_BREAKERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_empty()
    {
        return;
    }
    WAKE.notify_one();
    let (woken, wake) = &WAKE_BLOCKING;
    *woken.lock().unwrap_or_else(PoisonError::into_inner) = true;
    wake.notify_all();
}

/// Waits out the refresh's second, or less when [`refresh_now`] wakes it.
fn wait_blocking() {
    let (woken, wake) = &WAKE_BLOCKING;
    let guard = woken.lock().unwrap_or_else(PoisonError::into_inner);
    let (mut guard, _) = wake
        .wait_timeout_while(guard, REFRESH_EVERY, |woken| !*woken)
        .unwrap_or_else(PoisonError::into_inner);
    *guard = false;
}

/// One breaker's step of the refresh: its own opinion out, the fleet's in.
fn apply(breaker: &'static crate::breaker::Core, fleet: &FleetBreaker, open_nodes: Option<u64>) {
    let forced = fleet.forced.load(Relaxed);
    match open_nodes {
        Some(n) if n >= u64::from(fleet.quorum) => {
            if !forced && breaker.state() != crate::BreakerState::Open {
                fleet.forced.store(true, Relaxed);
                tracing::warn!(
                    target: "steadfast",
                    breaker = breaker.name(),
                    nodes = n,
                    "circuit breaker `{}` opened for the fleet: {n} nodes report it open (quorum {})",
                    breaker.name(),
                    fleet.quorum
                );
                breaker.force_open();
            }
        }
        // Under the quorum, or the fleet unknown (Redis down): this node decides alone.
        _ => {
            if forced {
                fleet.forced.store(false, Relaxed);
                breaker.reset();
            }
        }
    }
}

/// This node's own opinion, as the script's arguments: whether its own failures hold the
/// breaker open (not the fleet), and for how many more milliseconds (its marker lives that
/// long: it expires when this node's breaker would turn half-open, even if no call comes
/// to turn it).
fn opinion(breaker: &crate::breaker::Core, fleet: &FleetBreaker) -> (&'static str, u64) {
    let left = breaker.open_for().saturating_sub(breaker.in_state_for());
    if !fleet.forced.load(Relaxed)
        && breaker.state() == crate::BreakerState::Open
        && !left.is_zero()
    {
        (
            "1",
            u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1),
        )
    } else {
        ("0", 0)
    }
}

impl Fleet {
    fn breaker_key(&self, breaker: &str) -> String {
        format!("{}:steadfast:breaker:{breaker}", self.app)
    }
}

/// The refresh of every fleet-scoped breaker, once a second (and at once when one opens or
/// turns half-open), on the tokio runtime.
async fn refresh_breakers(fleet: Arc<Fleet>) {
    let script = redis::Script::new(BREAKER_SCRIPT);
    loop {
        let _ = tokio::time::timeout(REFRESH_EVERY, WAKE.notified()).await;
        if FLEET
            .load_full()
            .is_none_or(|now| !Arc::ptr_eq(&now, &fleet))
        {
            return; // connect was called again: that connection's refresh takes over
        }
        let watched: Vec<Watched> = FLEET_BREAKERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (breaker, watch) in watched {
            let (open, ttl) = opinion(breaker, watch);
            let mut invocation = script.key(fleet.breaker_key(breaker.name()));
            invocation.arg(node_id()).arg(open).arg(ttl);
            let open_nodes = match fleet.async_connection(CONNECT_DEADLINE).await {
                Some(mut connection) => {
                    match tokio::time::timeout(
                        CONNECT_DEADLINE,
                        invocation.invoke_async::<u64>(&mut connection),
                    )
                    .await
                    {
                        Ok(Ok(n)) => Some(n),
                        Ok(Err(_)) => {
                            fleet.forget_connection();
                            None
                        }
                        Err(_) => None,
                    }
                }
                None => None,
            };
            apply(breaker, watch, open_nodes);
        }
    }
}

/// [`refresh_breakers`] for a sync program, on a thread of its own.
fn refresh_breakers_blocking(fleet: Arc<Fleet>) {
    let script = redis::Script::new(BREAKER_SCRIPT);
    let mut connection: Option<redis::Connection> = None;
    loop {
        wait_blocking();
        if FLEET
            .load_full()
            .is_none_or(|now| !Arc::ptr_eq(&now, &fleet))
        {
            return;
        }
        let watched: Vec<Watched> = FLEET_BREAKERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (breaker, watch) in watched {
            if connection.is_none() {
                connection = fleet
                    .client
                    .get_connection_with_timeout(CONNECT_DEADLINE)
                    .ok()
                    .inspect(|c| {
                        let _ = c.set_read_timeout(Some(CONNECT_DEADLINE));
                    });
            }
            let open_nodes = connection.as_mut().and_then(|c| {
                let (open, ttl) = opinion(breaker, watch);
                let mut invocation = script.key(fleet.breaker_key(breaker.name()));
                invocation.arg(node_id()).arg(open).arg(ttl);
                invocation.invoke::<u64>(c).ok()
            });
            if open_nodes.is_none() {
                connection = None;
            }
            apply(breaker, watch, open_nodes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limiter's script on Lua 5.1, as Redis runs it, against an in-process store: a
    /// table of values with their expiry, and a clock (µs) the test sets.
    struct FakeRedis {
        lua: mlua::Lua,
    }

    const FAKE_REDIS: &str = r"
        store = {}
        clock_us = 0
        redis = { call = function(cmd, key, ...)
          local args = {...}
          if cmd == 'TIME' then
            return { string.format('%d', math.floor(clock_us / 1000000)),
                     string.format('%d', clock_us % 1000000) }
          elseif cmd == 'GET' then
            local e = store[key]
            if e == nil or e.expires <= clock_us then store[key] = nil; return false end
            return e.value
          elseif cmd == 'SET' then
            assert(args[2] == 'PX')
            store[key] = { value = args[1], expires = clock_us + tonumber(args[3]) * 1000 }
            return 'OK'
          end
          error('unexpected command ' .. cmd)
        end }
    ";

    /// 2026-12-03, in µs: the script's arithmetic on realistic clock values.
    const T0: u64 = 1_764_720_000_000_000;

    impl FakeRedis {
        fn new() -> FakeRedis {
            let lua = mlua::Lua::new();
            lua.load(FAKE_REDIS).exec().unwrap();
            FakeRedis { lua }
        }

        /// One decision at `now` µs: `(turns, wait or retry_after µs)`.
        fn take(
            &self,
            now: u64,
            interval: u64,
            tolerance: u64,
            max_wait: u64,
            lease: u32,
        ) -> (i64, i64) {
            let g = self.lua.globals();
            g.set("clock_us", now).unwrap();
            g.set("KEYS", vec!["k"]).unwrap();
            g.set(
                "ARGV",
                vec![interval, tolerance, max_wait, u64::from(lease)],
            )
            .unwrap();
            let answer: mlua::Table = self.lua.load(SCRIPT).eval().unwrap();
            (answer.get(1).unwrap(), answer.get(2).unwrap())
        }

        /// The stored TAT, if the key has not expired at `now`.
        fn tat(&self, now: u64) -> Option<u64> {
            self.lua.globals().set("clock_us", now).unwrap();
            let value: Option<String> = self
                .lua
                .load("local v = redis.call('GET', 'k'); if v then return v end; return nil")
                .eval()
                .unwrap();
            value.map(|v| v.parse().unwrap())
        }
    }

    const MS: u64 = 1_000;

    #[test]
    fn the_script_admits_the_burst_then_one_per_interval_with_an_exact_retry_after() {
        // 10 a second, burst 3: interval 100 ms, tolerance 300 ms; no lease.
        let r = FakeRedis::new();
        let take = |now| r.take(now, 100 * MS, 300 * MS, 0, 1);
        for _ in 0..3 {
            assert_eq!(take(T0), (1, 0));
        }
        assert_eq!(take(T0), (0, 100_000));
        assert_eq!(take(T0 + 40 * MS), (0, 60_000));
        assert_eq!(take(T0 + 100 * MS), (1, 0));
        assert_eq!(r.tat(T0 + 100 * MS), Some(T0 + 400 * MS));
    }

    #[test]
    fn the_key_expires_when_the_limiter_is_back_to_full() {
        let r = FakeRedis::new();
        for _ in 0..3 {
            r.take(T0, 100 * MS, 300 * MS, 0, 1);
        }
        // The TAT is 300 ms ahead: the key lives 301 ms (rounded up to the next ms).
        assert_eq!(r.tat(T0 + 300 * MS), Some(T0 + 300 * MS));
        assert_eq!(r.tat(T0 + 301 * MS), None);
        // A fresh key is a full limiter, which it was: a burst again, not more.
        for _ in 0..3 {
            assert_eq!(r.take(T0 + 301 * MS, 100 * MS, 300 * MS, 0, 1).0, 1);
        }
        assert_eq!(r.take(T0 + 301 * MS, 100 * MS, 300 * MS, 0, 1).0, 0);
    }

    #[test]
    fn a_call_may_wait_up_to_max_wait_for_its_turn() {
        // 10 a second, burst 1: the second call's turn is 100 ms away.
        let r = FakeRedis::new();
        assert_eq!(r.take(T0, 100 * MS, 100 * MS, 150 * MS, 1), (1, 0));
        assert_eq!(r.take(T0, 100 * MS, 100 * MS, 150 * MS, 1), (1, 100_000));
        // The third's is 200 ms away: past max_wait, limited, its turn not reserved.
        assert_eq!(r.take(T0, 100 * MS, 100 * MS, 150 * MS, 1), (0, 200_000));
        assert_eq!(r.tat(T0), Some(T0 + 200 * MS));
    }

    #[test]
    fn a_lease_takes_the_turns_free_now_up_to_the_lease() {
        // 50 a second, burst 50: interval 20 ms, tolerance 1 s; lease 10.
        let r = FakeRedis::new();
        let take = |now| r.take(now, 20 * MS, 1_000 * MS, 0, 10);
        for _ in 0..5 {
            assert_eq!(take(T0), (10, 0));
        }
        // The burst is spent: one turn as without a lease, limited 20 ms from now.
        assert_eq!(take(T0), (0, 20_000));
        // 45 ms later two turns are free (not three): the lease takes those two.
        assert_eq!(take(T0 + 45 * MS), (2, 0));
        assert_eq!(take(T0 + 45 * MS), (0, 15_000));
        // With none free now, a lease with a max_wait waits for one turn, as without.
        assert_eq!(
            r.take(T0 + 45 * MS, 20 * MS, 1_000 * MS, 50 * MS, 10),
            (1, 15_000)
        );
    }

    #[test]
    fn a_lease_never_takes_more_than_the_burst_allows() {
        // Burst 3, lease 10: three turns, then one per interval.
        let r = FakeRedis::new();
        assert_eq!(r.take(T0, 100 * MS, 300 * MS, 0, 10), (3, 0));
        assert_eq!(r.take(T0 + 100 * MS, 100 * MS, 300 * MS, 0, 10), (1, 0));
        assert_eq!(
            r.take(T0 + 100 * MS, 100 * MS, 300 * MS, 0, 10),
            (0, 100_000)
        );
    }

    fn unreachable() -> Fleet {
        fleet("redis://127.0.0.1:1", "tests").unwrap()
    }

    #[test]
    fn only_a_malformed_url_or_app_name_is_an_error() {
        assert!(fleet("redis://127.0.0.1:1", "orders-service.v2").is_ok());
        for app in ["", "has space", "a:b", &"x".repeat(65)] {
            let e = fleet("redis://127.0.0.1:6379", app).err().expect(app);
            assert!(e.to_string().starts_with("fleet app name"), "{e}");
        }
        let e = fleet("http://127.0.0.1:6379", "app")
            .err()
            .expect("not redis");
        assert!(e.to_string().starts_with("fleet Redis URL"), "{e}");
    }

    #[test]
    fn keys_are_under_the_app_name() {
        assert_eq!(unreachable().key("quotes"), "tests:steadfast:rate:quotes");
    }

    #[test]
    fn one_slow_answer_is_not_down_three_in_a_row_are() {
        let f = unreachable();
        f.slow();
        f.slow();
        assert!(!f.down.load(Relaxed));
        assert!(f.should_ask());
        f.answered();
        f.slow();
        f.slow();
        assert!(
            !f.down.load(Relaxed),
            "an answer in between starts the count again"
        );
        f.slow();
        assert!(f.down.load(Relaxed));
    }

    #[test]
    fn while_down_one_call_a_second_asks_and_an_answer_brings_it_back() {
        let f = unreachable();
        f.failed("connection refused".into());
        assert!(f.down.load(Relaxed));
        assert!(!f.should_ask(), "down: this second's calls decide locally");
        // A second later, exactly one call asks.
        f.retry_at.store(1, Relaxed);
        assert!(f.should_ask());
        assert!(!f.should_ask());
        f.answered();
        assert!(!f.down.load(Relaxed));
        assert!(f.should_ask());
    }
}
