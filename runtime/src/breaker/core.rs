//! The breaker's state machine.
//!
//! Hot paths are lock-free: admission is a load (closed) or a compare-and-swap (half-open,
//! and the open → half-open step); a success on a closed breaker with nothing to forget is
//! a load and no write. Transitions that must publish more than the state word (the time
//! an open breaker reopens, cleared counters) take `transition`, a mutex that is never held
//! across a user's call, and write that data *before* the state word is published with
//! `Release`, so anyone who sees the new state with `Acquire` sees its data.

use std::fmt;
use std::time::Duration;

// Under `--cfg steadfast_loom` the state machine runs on loom's atomics and mutex, so
// `loom_tests` can explore every interleaving of its threads.
#[cfg(steadfast_loom)]
use loom::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicU32, AtomicU64},
};
use std::sync::atomic::Ordering::*;
#[cfg(not(steadfast_loom))]
use std::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicU32, AtomicU64},
};

use super::trip::{Trip, TripPolicy};
use super::word::{MAX_FAILURES, MAX_PROBES, Phase, Word};
use crate::clock::{Clock, Nanos, RECENT_MARGIN, SystemClock, duration_nanos};
use crate::error::{CircuitOpen, Name, Why};
pub(crate) use crate::labels::Exported;
use crate::shard::ShardedCounter;

/// Everything that configures one breaker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// When a closed breaker opens.
    pub trip: TripPolicy,
    /// How long it stays open before admitting probes.
    pub open_for: Duration,
    /// Probes admitted while half-open, in all.
    pub half_open_probes: u32,
}

impl Config {
    /// The defaults of `#[circuit_breaker]`: open after 5 consecutive failures, stay open
    /// 30 s, then admit 1 probe. Generated code fills every key not written from here, so
    /// this is their one home.
    pub const DEFAULT: Config = Config {
        trip: TripPolicy::Consecutive {
            threshold: TripPolicy::DEFAULT_THRESHOLD,
        },
        open_for: Duration::from_secs(30),
        half_open_probes: 1,
    };
}

/// The most failures `failure_threshold` with `window` keeps the times of.
pub(crate) const MAX_IN_WINDOW: u32 = 10_000;

impl Config {
    /// The settings as the breaker uses them. Keys written as literals were checked at
    /// compile time; one given as an expression (a `const`, a call) is checked here, when
    /// the breaker is first used: a value out of range is logged as an error naming the
    /// breaker and the key, and the nearest valid value is used instead. Never a panic.
    pub(crate) fn checked(self, breaker: &str) -> Config {
        let mut problems: Vec<String> = Vec::new();
        let mut count = |key: &str, n: u32, max: u32| -> u32 {
            if n == 0 || n > max {
                let used = n.clamp(1, max);
                problems.push(format!("`{key}` is {n}, outside 1..={max}; using {used}"));
                used
            } else {
                n
            }
        };
        let trip = match self.trip {
            TripPolicy::Consecutive { threshold } => TripPolicy::Consecutive {
                threshold: count("failure_threshold", threshold, MAX_FAILURES),
            },
            TripPolicy::Count { threshold, window } => TripPolicy::Count {
                threshold: count("failure_threshold", threshold, MAX_IN_WINDOW),
                window,
            },
            TripPolicy::Rate {
                rate,
                minimum_calls,
                window,
            } => TripPolicy::Rate {
                rate,
                minimum_calls: count("minimum_calls", minimum_calls, u32::MAX),
                window,
            },
        };
        let half_open_probes = count("half_open_probes", self.half_open_probes, MAX_PROBES);
        if let TripPolicy::Rate { rate, .. } = trip {
            if !(rate > 0.0 && rate <= 1.0) {
                problems.push(format!(
                    "`failure_rate` is {rate}, outside (0, 1]; using {}",
                    if rate > 1.0 || rate.is_nan() {
                        1.0
                    } else {
                        f64::MIN_POSITIVE
                    }
                ));
            }
        }
        if let TripPolicy::Count { window, .. } | TripPolicy::Rate { window, .. } = trip {
            if window.is_zero() {
                problems.push("`window` is zero: every failure falls outside it".to_owned());
            }
        }
        if self.open_for.is_zero() {
            problems.push("`open_for` is zero: the breaker admits probes at once".to_owned());
        }
        for problem in &problems {
            tracing::error!(target: "steadfast", breaker, "circuit breaker `{breaker}`: {problem}");
        }
        Config {
            trip,
            half_open_probes,
            ..self
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// The state of a breaker as a user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls pass; outcomes are counted.
    Closed,
    /// Calls are rejected with [`CircuitOpen`] without running the body.
    Open,
    /// A bounded number of probe calls pass; they decide whether it closes or reopens.
    HalfOpen,
}

impl std::fmt::Display for BreakerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        })
    }
}

#[derive(Debug)]
/// One circuit breaker (see the module docs).
pub struct Core<C: Clock = SystemClock> {
    name: Name,
    /// `critical`: open, the process is unhealthy. Retuned live.
    critical: AtomicBool,
    /// What the exporters call it (see [`Exported`]).
    exported: Exported,
    /// `half_open_probes`, retuned live.
    probes: AtomicU32,
    /// `open_for` in nanoseconds, retuned live.
    open_for: AtomicU64,
    state: AtomicU64,
    /// When an open breaker admits probes. Written only while the state is not `Open`
    /// (under `transition`), read only by whoever saw `Open`.
    open_until: AtomicU64,
    /// When the breaker last turned half-open: the start of its probes' lease.
    half_open_since: AtomicU64,
    trip: Trip,
    transition: Mutex<()>,
    clock: C,
    /// Written only on their (cold) paths.
    rejections: ShardedCounter,
    transitions: AtomicU64,
    /// When its state last changed (its creation before the first change), in the
    /// clock's nanoseconds: for "open since" on a status page.
    changed_at: AtomicU64,
}

/// The right to run one call, handed out by [`Core::try_acquire`]. Dropped without an
/// outcome it releases what it holds and records nothing, unless the thread is panicking,
/// which counts as a failure.
#[must_use = "a permit records the call's outcome; dropping it records nothing"]
#[derive(Debug)]
pub struct Permit<'a, C: Clock = SystemClock> {
    core: &'a Core<C>,
    generation: u32,
    probe: bool,
    armed: bool,
}

impl<C: Clock> Core<C> {
    pub(crate) fn with_clock(name: Name, config: Config, clock: C) -> Self {
        let probes = config.half_open_probes.clamp(1, MAX_PROBES);
        Core {
            name,
            critical: AtomicBool::new(false),
            exported: Exported::Own,
            probes: AtomicU32::new(probes),
            open_for: AtomicU64::new(duration_nanos(config.open_for)),
            state: AtomicU64::new(Word::closed(0).0),
            open_until: AtomicU64::new(0),
            half_open_since: AtomicU64::new(0),
            trip: Trip::new(config.trip),
            transition: Mutex::new(()),
            rejections: ShardedCounter::default(),
            transitions: AtomicU64::new(0),
            changed_at: AtomicU64::new(clock.now().0),
            clock,
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The settings in force.
    pub(crate) fn config(&self) -> Config {
        Config {
            trip: self.trip.policy(),
            open_for: self.open_for(),
            half_open_probes: self.probes(),
        }
    }

    pub(crate) fn open_for(&self) -> Duration {
        Duration::from_nanos(self.open_for.load(Relaxed))
    }

    fn probes(&self) -> u32 {
        self.probes.load(Relaxed)
    }

    /// Marks it `critical`.
    pub(crate) fn critical(self, critical: bool) -> Self {
        self.critical.store(critical, Relaxed);
        self
    }

    pub(crate) fn is_critical(&self) -> bool {
        self.critical.load(Relaxed)
    }

    /// New settings from the next call on, keeping its state and counts: an open breaker
    /// stays open (a new `open_for` applies from its next opening). An error, changing
    /// nothing, for a change that would throw counts away (see [`Trip::retune`]).
    pub(crate) fn retune(&self, config: Config, critical: bool) -> Result<(), String> {
        let config = config.checked(self.name());
        let _guard = self.lock();
        self.trip.retune(config.trip)?;
        self.open_for
            .store(duration_nanos(config.open_for), Relaxed);
        self.probes
            .store(config.half_open_probes.clamp(1, MAX_PROBES), Relaxed);
        self.critical.store(critical, Relaxed);
        Ok(())
    }

    /// Whether [`retune`](Self::retune) would accept `config`.
    pub(crate) fn can_retune(&self, config: &Config) -> Result<(), String> {
        super::trip::can_retune(self.trip.policy(), config.trip)
    }

    /// Exported as `exported` says.
    pub(crate) fn exported(mut self, exported: Exported) -> Self {
        self.exported = exported;
        self
    }

    fn load(&self) -> Word {
        Word(self.state.load(Acquire))
    }

    fn cas(&self, current: Word, new: Word) -> Result<(), Word> {
        self.state
            .compare_exchange(current.0, new.0, AcqRel, Acquire)
            .map(drop)
            .map_err(Word)
    }

    #[cfg(test)]
    pub(crate) fn word(&self) -> Word {
        self.load()
    }

    pub(crate) fn state(&self) -> BreakerState {
        match self.load().phase() {
            Phase::Closed => BreakerState::Closed,
            Phase::Open | Phase::Forced => BreakerState::Open,
            Phase::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// Admits a call or rejects it. Closed: one load, no write.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn try_acquire(&self) -> Result<Permit<'_, C>, CircuitOpen> {
        let word = self.load();
        if word.phase() == Phase::Closed {
            return Ok(self.permit(word.generation(), false));
        }
        self.try_acquire_slow(word)
    }

    #[inline(never)]
    fn try_acquire_slow(&self, mut word: Word) -> Result<Permit<'_, C>, CircuitOpen> {
        loop {
            let generation = word.generation();
            match word.phase() {
                Phase::Closed => return Ok(self.permit(generation, false)),
                Phase::HalfOpen => {
                    if word.admitted() >= self.probes() {
                        // Every slot is taken. A probe that has not ended `open_for` after the
                        // breaker turned half-open is presumed lost (its future leaked, its
                        // thread stuck): a new half-open cycle starts, and whatever that probe
                        // reports later belongs to the old generation and is ignored.
                        let now = self.clock.now();
                        let since = Nanos(self.half_open_since.load(Relaxed));
                        if now.saturating_sub(since) < self.open_for() {
                            return Err(self.rejection(Why::ProbesBusy));
                        }
                        self.half_open_since.store(now.0, Relaxed);
                        let next = Word::half_open(generation.wrapping_add(1), 1, 0);
                        match self.cas(word, next) {
                            Ok(()) => {
                                self.lease_expired();
                                return Ok(self.permit(next.generation(), true));
                            }
                            Err(current) => word = current,
                        }
                        continue;
                    }
                    let next = Word::half_open(generation, word.admitted() + 1, word.succeeded());
                    match self.cas(word, next) {
                        Ok(()) => return Ok(self.permit(generation, true)),
                        Err(current) => word = current,
                    }
                }
                Phase::Open => {
                    let until = Nanos(self.open_until.load(Relaxed));
                    // Most rejections are decided by the recent time, one load, without
                    // reading the clock; near the deadline a precise read decides.
                    match self.clock.recent() {
                        Some(recent) if recent.saturating_add(RECENT_MARGIN) < until => {
                            // The recent time may lag: the time left is read precisely
                            // when someone asks for it, never overstated.
                            return Err(self.rejection(Why::OpenUntil(until, self.clock.precise())));
                        }
                        Some(_) => {}
                        // The upkeep stopped while nobody needed it: an open breaker that is
                        // called again wants it back.
                        None => self.clock.keep_recent(),
                    }
                    let now = self.clock.now();
                    if now < until {
                        return Err(self.rejection(Why::Open(until.saturating_sub(now))));
                    }
                    // `open_for` is over: whoever moves the breaker to half-open takes the
                    // first probe slot in the same step. The time is written before the
                    // state is published, so whoever sees half-open sees it.
                    self.half_open_since.store(now.0, Relaxed);
                    let next = Word::half_open(generation.wrapping_add(1), 1, 0);
                    match self.cas(word, next) {
                        Ok(()) => {
                            self.announce(BreakerState::Open, BreakerState::HalfOpen);
                            return Ok(self.permit(next.generation(), true));
                        }
                        Err(current) => word = current,
                    }
                }
                Phase::Forced => return Err(self.rejection(Why::Forced)),
            }
        }
    }

    fn permit(&self, generation: u32, probe: bool) -> Permit<'_, C> {
        Permit {
            core: self,
            generation,
            probe,
            armed: true,
        }
    }

    #[cold]
    fn rejection(&self, why: Why) -> CircuitOpen {
        self.rejections.add(1);
        crate::observe::breaker_rejected(self.exported.label(self.name()));
        CircuitOpen::new(self.name.clone(), why)
    }

    /// Calls rejected so far.
    pub(crate) fn rejections(&self) -> u64 {
        self.rejections.get()
    }

    /// State changes so far.
    /// How long it has been in its state (since it was made, before its first change).
    pub(crate) fn in_state_for(&self) -> Duration {
        self.clock
            .now()
            .saturating_sub(Nanos(self.changed_at.load(Relaxed)))
    }

    /// The `Display` of the failure that last opened it.
    pub(crate) fn last_failure(&self) -> Option<String> {
        self.name.cause().map(|c| c.to_string())
    }

    pub(crate) fn transitions(&self) -> u64 {
        self.transitions.load(Relaxed)
    }

    /// A success on a closed consecutive breaker with no failures to forget: one load, no
    /// write.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn on_success(&self, generation: u32, probe: bool) {
        if !probe && matches!(self.trip, Trip::Consecutive { .. }) {
            let word = self.load();
            if !word.is(Phase::Closed, generation) || word.failures() == 0 {
                return;
            }
        }
        self.on_success_slow(generation, probe);
    }

    #[inline(never)]
    fn on_success_slow(&self, generation: u32, probe: bool) {
        if probe {
            return self.probe_succeeded(generation);
        }
        match &self.trip {
            Trip::Consecutive { .. } => {
                let mut word = self.load();
                while word.is(Phase::Closed, generation) && word.failures() != 0 {
                    match self.cas(word, word.with_failures(0)) {
                        Ok(()) => return,
                        Err(current) => word = current,
                    }
                }
            }
            Trip::Count(_) => {}
            Trip::Rate(window) => {
                if self.load().is(Phase::Closed, generation) {
                    window.record(self.clock.now(), false);
                }
            }
        }
    }

    fn on_failure(&self, generation: u32, probe: bool, cause: Option<&dyn fmt::Display>) {
        if probe {
            return self.trip_open(Phase::HalfOpen, generation, cause);
        }
        let trips = match &self.trip {
            Trip::Consecutive { threshold } => {
                let mut word = self.load();
                loop {
                    if !word.is(Phase::Closed, generation) {
                        return;
                    }
                    let failures = word.failures().saturating_add(1);
                    if failures >= threshold.load(Relaxed) {
                        break true;
                    }
                    match self.cas(word, word.with_failures(failures)) {
                        Ok(()) => return,
                        Err(current) => word = current,
                    }
                }
            }
            Trip::Count(window) => {
                self.load().is(Phase::Closed, generation) && window.record_failure(self.clock.now())
            }
            Trip::Rate(window) => {
                self.load().is(Phase::Closed, generation) && window.record(self.clock.now(), true)
            }
        };
        if trips {
            self.trip_open(Phase::Closed, generation, cause);
        }
    }

    /// A probe that ended without counting (cancelled, or an error `failure_if` ignores)
    /// hands its slot back.
    fn on_release(&self, generation: u32, probe: bool) {
        if !probe {
            return;
        }
        let mut word = self.load();
        while word.is(Phase::HalfOpen, generation) && word.admitted() > word.succeeded() {
            let next = Word::half_open(generation, word.admitted() - 1, word.succeeded());
            match self.cas(word, next) {
                Ok(()) => return,
                Err(current) => word = current,
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // No user code runs under this lock, so it cannot be poisoned by one; take it
        // regardless rather than panic.
        self.transition
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens the breaker if it is still in `phase` of `generation`, keeping the `Display`
    /// of the failure that opened it for the rejections to come.
    fn trip_open(&self, phase: Phase, generation: u32, cause: Option<&dyn fmt::Display>) {
        let _guard = self.lock();
        let mut word = self.load();
        if word.is(phase, generation) {
            match cause {
                Some(cause) => self.name.set_cause(cause),
                None => self.name.clear_cause(),
            }
        }
        while word.is(phase, generation) {
            let until = self.clock.now().saturating_add(self.open_for());
            self.open_until.store(until.0, Relaxed);
            match self.cas(word, Word::open(generation.wrapping_add(1))) {
                Ok(()) => {
                    self.clock.keep_recent();
                    let from = if phase == Phase::Closed {
                        BreakerState::Closed
                    } else {
                        BreakerState::HalfOpen
                    };
                    self.announce(from, BreakerState::Open);
                    return;
                }
                Err(current) => word = current,
            }
        }
    }

    fn probe_succeeded(&self, generation: u32) {
        let _guard = self.lock();
        let mut word = self.load();
        while word.is(Phase::HalfOpen, generation) {
            let succeeded = word.succeeded() + 1;
            if succeeded >= self.probes() {
                self.trip.clear();
                match self.cas(word, Word::closed(generation.wrapping_add(1))) {
                    Ok(()) => return self.announce(BreakerState::HalfOpen, BreakerState::Closed),
                    Err(current) => word = current,
                }
            } else {
                let next = Word::half_open(generation, word.admitted(), succeeded);
                match self.cas(word, next) {
                    Ok(()) => return,
                    Err(current) => word = current,
                }
            }
        }
    }

    /// Back to closed with every count cleared.
    pub(crate) fn reset(&self) {
        let _guard = self.lock();
        self.trip.clear();
        let old = self.swap_phase(Word::closed);
        if old.phase() != Phase::Closed {
            self.announce(public(old.phase()), BreakerState::Closed);
        }
    }

    /// Open until [`reset`](Self::reset).
    pub(crate) fn force_open(&self) {
        let _guard = self.lock();
        let old = self.swap_phase(Word::forced);
        if old.phase() != Phase::Forced {
            self.announce(public(old.phase()), BreakerState::Open);
        }
    }

    fn swap_phase(&self, make: fn(u32) -> Word) -> Word {
        let mut word = self.load();
        loop {
            match self.cas(word, make(word.generation().wrapping_add(1))) {
                Ok(()) => return word,
                Err(current) => word = current,
            }
        }
    }

    #[cold]
    fn lease_expired(&self) {
        let breaker = self.name();
        tracing::warn!(
            target: "steadfast",
            breaker,
            lease = ?self.open_for(),
            "circuit breaker `{breaker}`: no probe ended within {:?}; starting new probes",
            self.open_for()
        );
    }

    /// Every transition is a `tracing` event, target `steadfast`; opening is a warning.
    #[cold]
    fn announce(&self, from: BreakerState, to: BreakerState) {
        self.transitions.fetch_add(1, Relaxed);
        self.changed_at.store(self.clock.now().0, Relaxed);
        let breaker = self.name();
        crate::observe::breaker_transition(breaker, self.exported, from, to);
        match to {
            BreakerState::Open => tracing::warn!(
                target: "steadfast",
                breaker,
                %from,
                %to,
                open_for = ?self.open_for(),
                "circuit breaker `{breaker}` opened"
            ),
            BreakerState::HalfOpen => tracing::info!(
                target: "steadfast",
                breaker,
                %from,
                %to,
                probes = self.probes(),
                "circuit breaker `{breaker}` is half-open"
            ),
            BreakerState::Closed => tracing::info!(
                target: "steadfast",
                breaker,
                %from,
                %to,
                "circuit breaker `{breaker}` closed"
            ),
        }
    }
}

fn public(phase: Phase) -> BreakerState {
    match phase {
        Phase::Closed => BreakerState::Closed,
        Phase::Open | Phase::Forced => BreakerState::Open,
        Phase::HalfOpen => BreakerState::HalfOpen,
    }
}

impl<C: Clock> Permit<'_, C> {
    /// The call succeeded.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn success(mut self) {
        self.armed = false;
        self.core.on_success(self.generation, self.probe);
    }

    /// The call failed.
    pub fn failure(self) {
        self.failure_because(None);
    }

    /// The call failed with `cause`, kept (as text) if this failure opens the breaker.
    pub fn failure_because(mut self, cause: Option<&dyn fmt::Display>) {
        self.armed = false;
        self.core.on_failure(self.generation, self.probe, cause);
    }

    /// The call ended in an error that does not count either way.
    pub fn ignore(mut self) {
        self.armed = false;
        self.core.on_release(self.generation, self.probe);
    }
}

impl<C: Clock> Drop for Permit<'_, C> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn drop(&mut self) {
        if self.armed {
            self.unfinished();
        }
    }
}

impl<C: Clock> Permit<'_, C> {
    #[cold]
    #[inline(never)]
    fn unfinished(&self) {
        if std::thread::panicking() {
            self.core
                .on_failure(self.generation, self.probe, Some(&"panicked"));
        } else {
            self.core.on_release(self.generation, self.probe);
        }
    }
}

impl Core {
    pub(crate) fn new(name: Name, config: Config) -> Self {
        Core::with_clock(name, config, SystemClock)
    }
}
