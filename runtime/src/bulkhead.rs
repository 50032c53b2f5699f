//! `#[bulkhead]`: at most `max_concurrent` calls inside at once; waiters served strictly
//! first come, first served, sync and async alike.
//!
//! One atomic word holds the slots in use (low half) and the callers waiting (high half).
//! A caller takes a slot with one compare-and-swap when nobody waits and a slot is free;
//! otherwise it joins the queue (under a lock) unless it may not wait. A slot given back
//! while someone waits is handed to the first waiter directly (the count of slots in use
//! does not move), so a newcomer never takes a slot from under a waiter. Every change of
//! the waiting count happens under the queue's lock, which is what makes "nobody waits"
//! read from the word trustworthy for the lock-free paths.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::clock::duration_nanos;
use crate::figures::{self, BulkheadMetrics, Figures, Function, Part};
use crate::gate::Rejection;
use crate::keys::{BreakerKey, Held, KeyMap};
use crate::shard::ShardedCounter;

const IN_USE: u64 = 0xFFFF_FFFF;
const ONE_WAITING: u64 = 1 << 32;

/// Why a `#[bulkhead]` turned a call away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FullReason {
    /// Every slot was in use and the call may not wait (no `max_wait`).
    Full,
    /// Every slot was in use and `max_queue` callers were already waiting.
    QueueFull,
    /// It waited `max_wait` and no slot came free.
    WaitedOut,
}

impl FullReason {
    /// `full`, `queue_full`, `waited_out`: the `reason` label of the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            FullReason::Full => "full",
            FullReason::QueueFull => "queue_full",
            FullReason::WaitedOut => "waited_out",
        }
    }
}

/// A call `#[bulkhead]` turned away: every slot was in use.
#[derive(Debug, Clone)]
pub struct BulkheadFull {
    name: Arc<str>,
    limit: u32,
    reason: FullReason,
}

impl BulkheadFull {
    /// The bulkhead's name (`name = "…"`, else the function's path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its `max_concurrent`.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Why the call was turned away.
    pub fn reason(&self) -> FullReason {
        self.reason
    }
}

impl fmt::Display for BulkheadFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            FullReason::Full => "all slots in use",
            FullReason::QueueFull => "all slots in use and the queue full",
            FullReason::WaitedOut => "no slot came free in time",
        };
        write!(
            f,
            "bulkhead `{}` ({} at once) is full: {why}",
            self.name, self.limit
        )
    }
}

impl std::error::Error for BulkheadFull {}

impl Rejection for BulkheadFull {
    /// When a slot frees up is not known: a retry above does not wait it out.
    fn try_again_in(&self) -> Option<Duration> {
        None
    }

    /// A full bulkhead is this process's own limit, not a sign that a dependency is down.
    fn is_overload(&self) -> bool {
        true
    }
}

impl From<BulkheadFull> for std::io::Error {
    fn from(full: BulkheadFull) -> Self {
        std::io::Error::new(std::io::ErrorKind::WouldBlock, full)
    }
}

/// A bulkhead's settings, as the attribute gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkheadSpec {
    /// `name = "…"`, if written.
    pub name: Option<&'static str>,
    /// `module::fn`, the name when none is written.
    pub default_name: &'static str,
    /// Calls inside at once.
    pub max_concurrent: u32,
    /// How long a call may wait for a slot; zero: not at all.
    pub max_wait: Duration,
    /// Callers allowed to wait at once; `None`: bounded by `max_wait` alone.
    pub max_queue: Option<u32>,
    /// With `key = …`: at most this many keys kept (one set of slots per key); `None`: one
    /// set of slots.
    pub max_keys: Option<usize>,
}

impl BulkheadSpec {
    /// `max_keys` when `key` is written without it.
    pub const DEFAULT_MAX_KEYS: usize = 1_024;
}

/// One caller waiting for a slot.
#[derive(Debug)]
struct Waiter {
    /// Set (under the queue's lock) when a slot is handed to it.
    granted: AtomicBool,
    wake: Mutex<Wake>,
}

#[derive(Debug)]
enum Wake {
    Nobody,
    Thread(std::thread::Thread),
    Task(Waker),
}

impl Waiter {
    fn wake(&self) {
        let wake = std::mem::replace(&mut *lock(&self.wake), Wake::Nobody);
        match wake {
            Wake::Nobody => {}
            Wake::Thread(t) => t.unpark(),
            Wake::Task(w) => w.wake(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One named bulkhead: its settings, its counts, and its slots (one set, or one per key).
#[derive(Debug)]
pub(crate) struct Bulk {
    name: Arc<str>,
    /// The settings, changed live by `config::apply`: calls inside at once (of each key),
    /// callers allowed to wait (`u32::MAX`: any), how long one may wait (nanoseconds).
    max_concurrent: AtomicU32,
    max_queue: AtomicU32,
    max_wait: AtomicU64,
    /// Per-thread shards: a third write per call to a shared line would cost more than
    /// the slot itself under contention.
    admitted: ShardedCounter,
    rejected: [AtomicU64; 3],
    /// The slots of an unkeyed bulkhead.
    one: Slots,
    /// With `key = …`: the slots of each key.
    keys: Option<Keys>,
    #[cfg(feature = "metrics")]
    handles: crate::facade::BulkheadHandles,
}

/// One set of `max_concurrent` slots and its queue.
#[derive(Debug, Default)]
struct Slots {
    /// Slots in use (low 32 bits) and callers waiting (high 32 bits).
    word: AtomicU64,
    queue: Mutex<VecDeque<Arc<Waiter>>>,
}

/// The slots of each key of a keyed bulkhead.
#[derive(Debug)]
struct Keys {
    map: KeyMap<Arc<Slots>>,
    warned: AtomicBool,
}

/// Where a permit's slot is: the bulkhead's one set, or a key's.
type SlotsRef = Option<Arc<Slots>>;

impl Bulk {
    fn new(spec: &BulkheadSpec) -> Bulk {
        Bulk {
            name: Arc::from(spec.name.unwrap_or(spec.default_name)),
            max_concurrent: AtomicU32::new(checked_max_concurrent(spec)),
            max_queue: AtomicU32::new(spec.max_queue.unwrap_or(u32::MAX)),
            max_wait: AtomicU64::new(duration_nanos(spec.max_wait)),
            admitted: ShardedCounter::default(),
            rejected: Default::default(),
            one: Slots::default(),
            keys: spec.max_keys.map(|capacity| Keys {
                map: KeyMap::new(capacity),
                warned: AtomicBool::new(false),
            }),
            #[cfg(feature = "metrics")]
            handles: crate::facade::BulkheadHandles::new(spec.name.unwrap_or(spec.default_name)),
        }
    }

    /// Calls inside and waiting moved by these: to the `metrics` facade, if it is on.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    fn moved(&self, in_use: i8, queued: i8) {
        #[cfg(feature = "metrics")]
        self.handles.moved(in_use, queued);
    }

    fn slots<'a>(&'a self, at: &'a SlotsRef) -> &'a Slots {
        at.as_deref().unwrap_or(&self.one)
    }

    /// `max_concurrent` now.
    #[inline]
    fn limit(&self) -> u64 {
        u64::from(self.max_concurrent.load(Ordering::Relaxed))
    }

    /// `max_wait` now.
    #[inline]
    fn max_wait(&self) -> Duration {
        Duration::from_nanos(self.max_wait.load(Ordering::Relaxed))
    }

    /// `max_concurrent`, `max_wait` and `max_queue` now.
    pub(crate) fn settings(&self) -> BulkheadSettings {
        let queue = self.max_queue.load(Ordering::Relaxed);
        BulkheadSettings {
            max_concurrent: self.max_concurrent.load(Ordering::Relaxed),
            max_wait: self.max_wait(),
            max_queue: (queue != u32::MAX).then_some(queue),
        }
    }

    /// New settings, from the next call on. Calls inside stay; with a higher limit, callers
    /// waiting are let in at once, first come first served; with a lower one, slots given
    /// back go to waiters only once fewer than the new limit are inside.
    pub(crate) fn retune(&self, settings: BulkheadSettings) {
        self.max_concurrent
            .store(settings.max_concurrent.max(1), Ordering::Relaxed);
        self.max_wait
            .store(duration_nanos(settings.max_wait), Ordering::Relaxed);
        self.max_queue
            .store(settings.max_queue.unwrap_or(u32::MAX), Ordering::Relaxed);
        self.serve(&self.one);
        if let Some(keys) = &self.keys {
            keys.map.for_each(|slots| self.serve(slots));
        }
    }

    /// Hands free slots to waiters, while there are both.
    fn serve(&self, slots: &Slots) {
        let mut woken = Vec::new();
        {
            let mut queue = lock(&slots.queue);
            while slots.word.load(Ordering::Acquire) & IN_USE < self.limit() {
                let Some(first) = queue.pop_front() else {
                    break;
                };
                // One more inside, one fewer waiting.
                slots
                    .word
                    .fetch_add(1u64.wrapping_sub(ONE_WAITING), Ordering::AcqRel);
                first.granted.store(true, Ordering::Release);
                self.admitted.add(1);
                self.moved(1, -1);
                woken.push(first);
            }
        }
        for w in woken {
            w.wake();
        }
    }

    /// [`begin`](Self::begin) on the slots of `key`, or on the one set without `key`.
    fn begin_any<K: ?Sized + BreakerKey>(&self, key: &K, may_wait: bool) -> Begin {
        match &self.keys {
            Some(keys) => self.begin_key(keys, key, may_wait),
            None => self.begin(None, may_wait),
        }
    }

    /// A slot at once, if one is free and nobody waits for one.
    #[inline]
    fn try_enter(&self, slots: &Slots) -> bool {
        let mut word = slots.word.load(Ordering::Relaxed);
        loop {
            if word >> 32 != 0 || word & IN_USE >= self.limit() {
                return false;
            }
            match slots.word.compare_exchange_weak(
                word,
                word + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.admitted.add(1);
                    self.moved(1, 0);
                    return true;
                }
                Err(now) => word = now,
            }
        }
    }

    /// Under the queue's lock: a slot now, a place in the queue, or a rejection.
    fn enter_or_queue(&self, slots: &Slots) -> Result<Option<Arc<Waiter>>, FullReason> {
        let mut queue = lock(&slots.queue);
        let (limit, max_queue) = (self.limit(), self.max_queue.load(Ordering::Relaxed));
        let mut word = slots.word.load(Ordering::Relaxed);
        loop {
            let (in_use, waiting) = (word & IN_USE, word >> 32);
            let (next, queued) = if waiting == 0 && in_use < limit {
                (word + 1, false)
            } else if waiting >= u64::from(max_queue) {
                return Err(FullReason::QueueFull);
            } else {
                (word + ONE_WAITING, true)
            };
            match slots
                .word
                .compare_exchange_weak(word, next, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) if !queued => {
                    self.admitted.add(1);
                    self.moved(1, 0);
                    return Ok(None);
                }
                Ok(_) => {
                    let waiter = Arc::new(Waiter {
                        granted: AtomicBool::new(false),
                        wake: Mutex::new(Wake::Nobody),
                    });
                    queue.push_back(waiter.clone());
                    self.moved(0, 1);
                    return Ok(Some(waiter));
                }
                Err(now) => word = now,
            }
        }
    }

    /// The first step of every entry: a slot at once, a rejection at once (`max_wait`
    /// zero), or a place in the queue. For a key, it is taken under the map's read lock,
    /// so an eviction (under the write lock, of keys with nothing in use or waiting) never
    /// removes slots a caller is entering.
    fn begin(&self, at: SlotsRef, may_wait: bool) -> Begin {
        let slots = self.slots(&at);
        if self.try_enter(slots) {
            return Begin::Entered(at);
        }
        if !may_wait {
            return Begin::Rejected(FullReason::Full);
        }
        match self.enter_or_queue(slots) {
            Ok(None) => Begin::Entered(at),
            Ok(Some(waiter)) => Begin::Queued(at, waiter),
            Err(reason) => Begin::Rejected(reason),
        }
    }

    /// [`begin`](Self::begin) on the slots of `key`, made if it has none. A key is evicted
    /// only when nothing is in use or waiting on it; with every kept key busy and the map
    /// full, the call is turned away (`Full`) and a warning is logged once.
    fn begin_key<K: ?Sized + BreakerKey>(&self, keys: &Keys, key: &K, may_wait: bool) -> Begin {
        keys.map.with(
            key,
            || Arc::new(Slots::default()),
            // Under each shard's write lock: nobody is entering those slots, and a count of
            // zero means nobody is inside or waiting.
            |map| map.retain(|slots| slots.word.load(Ordering::Acquire) != 0),
            |held| match held {
                Held::Kept(slots) => self.begin(Some(slots.clone()), may_wait),
                Held::Unkept(_) => {
                    if !keys.warned.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            target: "steadfast",
                            bulkhead = &*self.name,
                            "bulkhead `{}` keeps {} keys and every one is in use: calls with a new key are turned away (raise `max_keys`)",
                            self.name,
                            keys.map.capacity()
                        );
                    }
                    Begin::Rejected(FullReason::Full)
                }
            },
        )
    }

    /// Gives a slot back: to the first waiter if there is one, else to the slots.
    fn leave(&self, slots: &Slots) {
        let mut word = slots.word.load(Ordering::Relaxed);
        // Nobody waits, or more are inside than the limit now allows (it was lowered):
        // the slot goes back, not to a waiter.
        while word >> 32 == 0 || word & IN_USE > self.limit() {
            match slots.word.compare_exchange_weak(
                word,
                word - 1,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.moved(-1, 0);
                    return;
                }
                Err(now) => word = now,
            }
        }
        // Someone waits (and nobody can stop waiting without the lock): hand it over.
        let first = {
            let mut queue = lock(&slots.queue);
            match queue.pop_front() {
                Some(first) => {
                    slots.word.fetch_sub(ONE_WAITING, Ordering::AcqRel);
                    first.granted.store(true, Ordering::Release);
                    self.admitted.add(1);
                    self.moved(0, -1);
                    Some(first)
                }
                None => {
                    // Cannot happen while the counts are kept under the lock; give the
                    // slot back rather than lose it.
                    slots.word.fetch_sub(1, Ordering::AcqRel);
                    self.moved(-1, 0);
                    None
                }
            }
        };
        if let Some(first) = first {
            first.wake();
        }
    }

    /// A waiter stops waiting (its time is up, or it was dropped): out of the queue, or,
    /// if a slot was handed to it in the meantime, `true` (the slot is its to keep or to
    /// pass on).
    fn give_up(&self, slots: &Slots, waiter: &Arc<Waiter>) -> bool {
        let mut queue = lock(&slots.queue);
        if waiter.granted.load(Ordering::Acquire) {
            return true;
        }
        if let Some(at) = queue.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            queue.remove(at);
            slots.word.fetch_sub(ONE_WAITING, Ordering::AcqRel);
            self.moved(0, -1);
        }
        false
    }

    fn rejection(&self, reason: FullReason) -> BulkheadFull {
        self.rejected[reason as usize].fetch_add(1, Ordering::Relaxed);
        crate::observe::bulkhead_rejected(&self.name, reason);
        BulkheadFull {
            name: self.name.clone(),
            limit: self.max_concurrent.load(Ordering::Relaxed),
            reason,
        }
    }

    /// Slots in use and callers waiting, over every key.
    fn counts(&self) -> (u64, u64) {
        let read = |w: u64| (w & IN_USE, w >> 32);
        let (mut in_use, mut waiting) = read(self.one.word.load(Ordering::Relaxed));
        if let Some(keys) = &self.keys {
            keys.map.for_each(|slots| {
                let (u, w) = read(slots.word.load(Ordering::Relaxed));
                in_use += u;
                waiting += w;
            });
        }
        (in_use, waiting)
    }
}

/// The first step of an entry.
enum Begin {
    Entered(SlotsRef),
    Queued(SlotsRef, Arc<Waiter>),
    Rejected(FullReason),
}

/// A bulkhead's settings that `config::apply` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BulkheadSettings {
    pub(crate) max_concurrent: u32,
    pub(crate) max_wait: Duration,
    pub(crate) max_queue: Option<u32>,
}

/// `max_concurrent` of `spec`, at least 1: a zero given as an expression (a literal zero
/// is a compile error) is logged, naming the key.
fn checked_max_concurrent(spec: &BulkheadSpec) -> u32 {
    if spec.max_concurrent == 0 {
        tracing::error!(
            target: "steadfast",
            "#[bulkhead] `{}`: `max_concurrent` must be at least 1, found 0; 1 is used",
            spec.name.unwrap_or(spec.default_name)
        );
    }
    spec.max_concurrent.max(1)
}

/// A slot of a bulkhead, given back when dropped (on return, panic or cancellation).
#[derive(Debug)]
#[must_use = "the slot is given back when the permit is dropped"]
pub struct BulkheadPermit {
    bulk: &'static Bulk,
    at: SlotsRef,
}

impl Drop for BulkheadPermit {
    fn drop(&mut self) {
        self.bulk.leave(self.bulk.slots(&self.at));
    }
}

fn registry() -> MutexGuard<'static, Vec<&'static Bulk>> {
    static ALL: OnceLock<Mutex<Vec<&'static Bulk>>> = OnceLock::new();
    lock(ALL.get_or_init(Default::default))
}

/// The bulkhead of `spec`: the one registered under its name, else a new one (kept for the
/// life of the process, like the function that uses it).
fn bulk(spec: &BulkheadSpec) -> &'static Bulk {
    let mut all = registry();
    let name = spec.name.unwrap_or(spec.default_name);
    if let Some(found) = all.iter().find(|b| &*b.name == name) {
        let found_keys = found.keys.as_ref().map(|k| k.map.capacity());
        let wanted = Bulk::new(spec);
        if (found.settings(), found_keys) != (wanted.settings(), spec.max_keys) {
            tracing::warn!(
                target: "steadfast",
                bulkhead = name,
                "bulkhead `{name}` is shared by functions with different settings; the first one's ({} at once) apply",
                found.limit()
            );
        }
        return found;
    }
    let made: &'static Bulk = Box::leak(Box::new(Bulk::new(spec)));
    all.push(made);
    made
}

/// The `static` behind a `#[bulkhead]` function.
#[derive(Debug)]
pub struct BulkheadSlot {
    spec: BulkheadSpec,
    function: &'static Function,
    bulkhead: OnceLock<&'static Bulk>,
}

impl BulkheadSlot {
    /// A function's bulkhead, made (or found by name) at its first call, when it also
    /// joins the figures of `function`.
    pub const fn new(spec: BulkheadSpec, function: &'static Function) -> BulkheadSlot {
        BulkheadSlot {
            spec,
            function,
            bulkhead: OnceLock::new(),
        }
    }

    #[inline]
    fn get(&'static self) -> &'static Bulk {
        self.bulkhead.get_or_init(|| {
            figures::join(self.function, self);
            bulk(&self.spec)
        })
    }

    /// A slot for a sync call, waiting on this thread up to the bulkhead's `max_wait`.
    pub fn enter_blocking(&'static self) -> Result<BulkheadPermit, BulkheadFull> {
        self.enter_blocking_within(self.get().max_wait())
    }

    /// [`enter_blocking`](Self::enter_blocking), waiting up to `max_wait`.
    fn enter_blocking_within(
        &'static self,
        max_wait: Duration,
    ) -> Result<BulkheadPermit, BulkheadFull> {
        let b = self.get();
        wait_blocking(b, b.begin(None, !max_wait.is_zero()), max_wait)
    }

    /// [`enter_blocking`](Self::enter_blocking) on the slots of `key`.
    pub fn enter_blocking_key<K: ?Sized + BreakerKey>(
        &'static self,
        key: &K,
    ) -> Result<BulkheadPermit, BulkheadFull> {
        let b = self.get();
        let max_wait = b.max_wait();
        wait_blocking(b, b.begin_any(key, !max_wait.is_zero()), max_wait)
    }

    /// A slot for an async call, waiting (as a task) up to the bulkhead's `max_wait`.
    pub(crate) fn enter(&'static self) -> Enter {
        self.enter_within(self.get().max_wait())
    }

    /// [`enter`](Self::enter), waiting up to `max_wait`.
    fn enter_within(&'static self, max_wait: Duration) -> Enter {
        let b = self.get();
        wait_async(b, b.begin(None, !max_wait.is_zero()), max_wait)
    }

    /// [`enter`](Self::enter) on the slots of `key`.
    pub(crate) fn enter_key<K: ?Sized + BreakerKey>(&'static self, key: &K) -> Enter {
        let b = self.get();
        let max_wait = b.max_wait();
        wait_async(b, b.begin_any(key, !max_wait.is_zero()), max_wait)
    }

    /// [`enter`](Self::enter) as a future.
    pub fn entry(&'static self) -> Entry {
        Entry(Some(self.enter()))
    }

    /// [`enter_key`](Self::enter_key) as a future.
    pub fn entry_key<K: ?Sized + BreakerKey>(&'static self, key: &K) -> Entry {
        Entry(Some(self.enter_key(key)))
    }

    /// Its name: `name = "…"`, else the function's path.
    pub(crate) fn name(&'static self) -> &'static str {
        self.spec.name.unwrap_or(self.spec.default_name)
    }

    /// Its bulkhead, made now if the function has not been called yet.
    pub(crate) fn bulk(&'static self) -> &'static Bulk {
        self.get()
    }
}

impl Part for BulkheadSlot {
    fn read_into(&self, into: &mut Figures) {
        if let Some(&b) = self.bulkhead.get() {
            let (in_use, queued) = b.counts();
            let h = Bulkhead(b);
            into.bulkhead = Some(BulkheadMetrics {
                name: b.name.to_string(),
                limit: b.limit() as u32,
                in_use,
                queued,
                admitted: h.admitted(),
                rejected_full: h.rejected(FullReason::Full),
                rejected_queue_full: h.rejected(FullReason::QueueFull),
                rejected_waited_out: h.rejected(FullReason::WaitedOut),
                keys: h.keys(),
            });
        }
    }
}

/// A sync caller's wait in the queue, parked, up to `max_wait`.
fn wait_blocking(
    bulk: &'static Bulk,
    begin: Begin,
    max_wait: Duration,
) -> Result<BulkheadPermit, BulkheadFull> {
    let (at, waiter) = match begin {
        Begin::Entered(at) => return Ok(BulkheadPermit { bulk, at }),
        Begin::Rejected(reason) => return Err(bulk.rejection(reason)),
        Begin::Queued(at, waiter) => (at, waiter),
    };
    blocking_on_runtime_warning();
    let deadline = Instant::now() + max_wait;
    loop {
        *lock(&waiter.wake) = Wake::Thread(std::thread::current());
        if waiter.granted.load(Ordering::Acquire) {
            return Ok(BulkheadPermit { bulk, at });
        }
        let now = Instant::now();
        if now >= deadline {
            return if bulk.give_up(bulk.slots(&at), &waiter) {
                Ok(BulkheadPermit { bulk, at })
            } else {
                Err(bulk.rejection(FullReason::WaitedOut))
            };
        }
        std::thread::park_timeout(deadline - now);
    }
}

fn wait_async(bulk: &'static Bulk, begin: Begin, max_wait: Duration) -> Enter {
    match begin {
        Begin::Entered(at) => Enter::Now(Ok(BulkheadPermit { bulk, at })),
        Begin::Rejected(reason) => Enter::Now(Err(bulk.rejection(reason))),
        Begin::Queued(at, waiter) => Enter::Wait(Waiting {
            bulk,
            at,
            waiter: Some(waiter),
            sleep: Box::pin(tokio::time::sleep(max_wait)),
        }),
    }
}

/// An async caller's way in, as a future: ready at once, or after waiting.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Entry(Option<Enter>);

impl Future for Entry {
    type Output = Result<BulkheadPermit, BulkheadFull>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            Some(Enter::Wait(waiting)) => Pin::new(waiting).poll(cx),
            Some(Enter::Now(_)) => match self.0.take() {
                Some(Enter::Now(now)) => Poll::Ready(now),
                _ => Poll::Pending,
            },
            None => Poll::Pending,
        }
    }
}

/// An async caller's way in: at once, or after waiting.
#[derive(Debug)]
pub(crate) enum Enter {
    /// Decided without waiting.
    Now(Result<BulkheadPermit, BulkheadFull>),
    /// In the queue.
    Wait(Waiting),
}

/// An async caller in a bulkhead's queue. Dropped while waiting, it leaves the queue; if a
/// slot was handed to it at that instant, the slot passes to the next waiter.
#[derive(Debug)]
pub(crate) struct Waiting {
    bulk: &'static Bulk,
    at: SlotsRef,
    waiter: Option<Arc<Waiter>>,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Waiting {
    fn permit(&self) -> BulkheadPermit {
        BulkheadPermit {
            bulk: self.bulk,
            at: self.at.clone(),
        }
    }
}

impl Future for Waiting {
    type Output = Result<BulkheadPermit, BulkheadFull>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let b = self.bulk;
        let Some(waiter) = self.waiter.clone() else {
            return Poll::Ready(Err(b.rejection(FullReason::WaitedOut)));
        };
        *lock(&waiter.wake) = Wake::Task(cx.waker().clone());
        if waiter.granted.load(Ordering::Acquire) {
            self.waiter = None;
            return Poll::Ready(Ok(self.permit()));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.waiter = None;
            return Poll::Ready(if b.give_up(b.slots(&self.at), &waiter) {
                Ok(self.permit())
            } else {
                Err(b.rejection(FullReason::WaitedOut))
            });
        }
        Poll::Pending
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            let slots = self.bulk.slots(&self.at);
            if self.bulk.give_up(slots, &waiter) {
                // Handed a slot it will not use: pass it on.
                self.bulk.leave(slots);
            }
        }
    }
}

#[cold]
fn blocking_on_runtime_warning() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if tokio::runtime::Handle::try_current().is_ok() && !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "steadfast",
            "a sync #[bulkhead] with max_wait waited on a tokio runtime's thread: it blocks the executor; make the function async"
        );
    }
}

/// A bulkhead, by name: how full it is. For a bulkhead with `key = …`, the figures are
/// summed over its keys (`limit` is each key's).
#[derive(Debug, Clone, Copy)]
pub struct Bulkhead(&'static Bulk);

impl Bulkhead {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Its `max_concurrent` (of each key, with `key = …`).
    pub fn limit(&self) -> u32 {
        self.0.max_concurrent.load(Ordering::Relaxed)
    }

    /// Calls inside now.
    pub fn in_use(&self) -> u32 {
        u32::try_from(self.0.counts().0).unwrap_or(u32::MAX)
    }

    /// Calls waiting for a slot now.
    pub fn queued(&self) -> u32 {
        u32::try_from(self.0.counts().1).unwrap_or(u32::MAX)
    }

    /// Calls admitted so far (those that waited included).
    pub fn admitted(&self) -> u64 {
        self.0.admitted.get()
    }

    /// Calls turned away so far for `reason`.
    pub fn rejected(&self, reason: FullReason) -> u64 {
        self.0.rejected[reason as usize].load(Ordering::Relaxed)
    }

    /// With `key = …`: the keys kept now; `None` for a bulkhead without keys.
    pub fn keys(&self) -> Option<usize> {
        self.0.keys.as_ref().map(|k| k.map.len())
    }
}

/// The bulkhead called `name`, once a function using it has been called.
pub fn bulkhead_named(name: &str) -> Option<Bulkhead> {
    registry()
        .iter()
        .find(|b| &*b.name == name)
        .map(|b| Bulkhead(b))
}

/// Every bulkhead in use, in the order of their names.
pub fn bulkheads() -> Vec<Bulkhead> {
    let mut all: Vec<Bulkhead> = registry().iter().map(|b| Bulkhead(b)).collect();
    all.sort_by(|a, b| a.name().cmp(b.name()));
    all
}

crate::listed::section!(
    /// Every `#[bulkhead]` function's slot, listed before `main`.
    pub(crate) fn listed() -> BulkheadSlot,
    "steadfast_0_1_bulkheads"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(name: &'static str, max: u32, queue: Option<u32>) -> &'static BulkheadSlot {
        let function = Box::leak(Box::new(Function::new(name, true)));
        Box::leak(Box::new(BulkheadSlot::new(
            BulkheadSpec {
                name: Some(name),
                default_name: name,
                max_concurrent: max,
                max_wait: Duration::ZERO,
                max_queue: queue,
                max_keys: None,
            },
            function,
        )))
    }

    #[test]
    fn slots_are_given_back_and_a_full_bulkhead_rejects_at_once() {
        let s = slot("bulkhead.tests.full", 2, None);
        let a = s.enter_blocking_within(Duration::ZERO).unwrap();
        let b = s.enter_blocking_within(Duration::ZERO).unwrap();
        let full = s.enter_blocking_within(Duration::ZERO).unwrap_err();
        assert_eq!(full.reason(), FullReason::Full);
        assert_eq!(full.limit(), 2);
        drop(a);
        let c = s.enter_blocking_within(Duration::ZERO).unwrap();
        drop((b, c));
        let h = bulkhead_named("bulkhead.tests.full").unwrap();
        assert_eq!((h.in_use(), h.queued(), h.admitted()), (0, 0, 3));
        assert_eq!(h.rejected(FullReason::Full), 1);
    }

    #[test]
    fn waiters_are_served_in_order_and_a_full_queue_rejects() {
        let s = slot("bulkhead.tests.fifo", 1, Some(3));
        let held = s.enter_blocking_within(Duration::ZERO).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for i in 0..3 {
            let order = order.clone();
            threads.push(std::thread::spawn(move || {
                let p = s.enter_blocking_within(Duration::from_secs(30)).unwrap();
                lock(&order).push(i);
                drop(p);
            }));
            // Each one queued before the next starts.
            while bulkhead_named("bulkhead.tests.fifo").unwrap().queued() < i + 1 {
                std::thread::yield_now();
            }
        }
        let full = s
            .enter_blocking_within(Duration::from_secs(30))
            .unwrap_err();
        assert_eq!(full.reason(), FullReason::QueueFull);
        drop(held);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock(&order), [0, 1, 2]);
        let h = bulkhead_named("bulkhead.tests.fifo").unwrap();
        assert_eq!((h.in_use(), h.queued()), (0, 0));
    }

    #[test]
    fn a_waiter_that_waits_out_leaves_the_queue() {
        let s = slot("bulkhead.tests.waited", 1, None);
        let held = s.enter_blocking_within(Duration::ZERO).unwrap();
        let e = s
            .enter_blocking_within(Duration::from_millis(20))
            .unwrap_err();
        assert_eq!(e.reason(), FullReason::WaitedOut);
        let h = bulkhead_named("bulkhead.tests.waited").unwrap();
        assert_eq!((h.in_use(), h.queued()), (1, 0));
        drop(held);
        assert_eq!(h.in_use(), 0);
    }

    #[test]
    fn stress_threads_and_tasks_never_exceed_the_limit_and_give_every_slot_back() {
        let s = slot("bulkhead.tests.stress", 3, None);
        let inside = Arc::new(AtomicU64::new(0));
        let most = Arc::new(AtomicU64::new(0));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..200u64 {
            let (inside, most) = (inside.clone(), most.clone());
            tasks.push(rt.spawn(async move {
                let entered =
                    match s.enter_within(Duration::from_millis(if i % 3 == 0 { 1 } else { 500 })) {
                        Enter::Now(r) => r,
                        Enter::Wait(w) => {
                            // Some waiters are cancelled while queued.
                            if i % 7 == 0 {
                                match tokio::time::timeout(Duration::from_micros(50), w).await {
                                    Ok(r) => r,
                                    Err(_) => return,
                                }
                            } else {
                                w.await
                            }
                        }
                    };
                if let Ok(p) = entered {
                    let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                    drop(p);
                }
            }));
        }
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (inside, most) = (inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        if let Ok(p) = s.enter_blocking_within(Duration::from_millis(200)) {
                            let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(n, Ordering::SeqCst);
                            std::thread::yield_now();
                            inside.fetch_sub(1, Ordering::SeqCst);
                            drop(p);
                        }
                    }
                })
            })
            .collect();
        rt.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        for t in threads {
            t.join().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 3);
        let h = bulkhead_named("bulkhead.tests.stress").unwrap();
        assert_eq!((h.in_use(), h.queued()), (0, 0), "every slot given back");
        // And all three slots are still there.
        let all: Vec<_> = (0..3)
            .map(|_| s.enter_blocking_within(Duration::ZERO).unwrap())
            .collect();
        assert!(s.enter_blocking_within(Duration::ZERO).is_err());
        drop(all);
    }
}
