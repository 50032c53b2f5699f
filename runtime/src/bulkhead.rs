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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::gate::Rejection;

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
    /// Callers allowed to wait at once; `None`: bounded by `max_wait` alone.
    pub max_queue: Option<u32>,
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

/// One bulkhead's state.
#[derive(Debug)]
pub(crate) struct Pool {
    name: Arc<str>,
    max_concurrent: u32,
    max_queue: Option<u32>,
    /// Slots in use (low 32 bits) and callers waiting (high 32 bits).
    word: AtomicU64,
    queue: Mutex<VecDeque<Arc<Waiter>>>,
    admitted: AtomicU64,
    rejected: [AtomicU64; 3],
}

impl Pool {
    fn new(spec: &BulkheadSpec) -> Pool {
        Pool {
            name: Arc::from(spec.name.unwrap_or(spec.default_name)),
            max_concurrent: spec.max_concurrent.max(1),
            max_queue: spec.max_queue,
            word: AtomicU64::new(0),
            queue: Mutex::new(VecDeque::new()),
            admitted: AtomicU64::new(0),
            rejected: Default::default(),
        }
    }

    /// A slot at once, if one is free and nobody waits for one.
    #[inline]
    fn try_enter(&self) -> bool {
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            if word >> 32 != 0 || word & IN_USE >= u64::from(self.max_concurrent) {
                return false;
            }
            match self.word.compare_exchange_weak(
                word,
                word + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.admitted.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Err(now) => word = now,
            }
        }
    }

    /// Under the lock: a slot now, a place in the queue, or a rejection.
    fn enter_or_queue(&self) -> Result<Option<Arc<Waiter>>, FullReason> {
        let mut queue = lock(&self.queue);
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            let (in_use, waiting) = (word & IN_USE, word >> 32);
            let (next, queued) = if waiting == 0 && in_use < u64::from(self.max_concurrent) {
                (word + 1, false)
            } else if self.max_queue.is_some_and(|q| waiting >= u64::from(q)) {
                return Err(FullReason::QueueFull);
            } else {
                (word + ONE_WAITING, true)
            };
            match self
                .word
                .compare_exchange_weak(word, next, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) if !queued => {
                    self.admitted.fetch_add(1, Ordering::Relaxed);
                    return Ok(None);
                }
                Ok(_) => {
                    let waiter = Arc::new(Waiter {
                        granted: AtomicBool::new(false),
                        wake: Mutex::new(Wake::Nobody),
                    });
                    queue.push_back(waiter.clone());
                    return Ok(Some(waiter));
                }
                Err(now) => word = now,
            }
        }
    }

    /// Gives a slot back: to the first waiter if there is one, else to the pool.
    fn leave(&self) {
        let mut word = self.word.load(Ordering::Relaxed);
        while word >> 32 == 0 {
            match self.word.compare_exchange_weak(
                word,
                word - 1,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => word = now,
            }
        }
        // Someone waits (and nobody can stop waiting without the lock): hand it over.
        let first = {
            let mut queue = lock(&self.queue);
            match queue.pop_front() {
                Some(first) => {
                    self.word.fetch_sub(ONE_WAITING, Ordering::AcqRel);
                    first.granted.store(true, Ordering::Release);
                    self.admitted.fetch_add(1, Ordering::Relaxed);
                    Some(first)
                }
                None => {
                    // Cannot happen while the counts are kept under the lock; give the
                    // slot back rather than lose it.
                    self.word.fetch_sub(1, Ordering::AcqRel);
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
    fn give_up(&self, waiter: &Arc<Waiter>) -> bool {
        let mut queue = lock(&self.queue);
        if waiter.granted.load(Ordering::Acquire) {
            return true;
        }
        if let Some(at) = queue.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            queue.remove(at);
            self.word.fetch_sub(ONE_WAITING, Ordering::AcqRel);
        }
        false
    }

    fn rejection(&self, reason: FullReason) -> BulkheadFull {
        self.rejected[reason as usize].fetch_add(1, Ordering::Relaxed);
        BulkheadFull {
            name: self.name.clone(),
            limit: self.max_concurrent,
            reason,
        }
    }
}

/// A slot of a bulkhead, given back when dropped (on return, panic or cancellation).
#[derive(Debug)]
#[must_use = "the slot is given back when the permit is dropped"]
pub struct BulkheadPermit(&'static Pool);

impl Drop for BulkheadPermit {
    fn drop(&mut self) {
        self.0.leave();
    }
}

fn registry() -> MutexGuard<'static, Vec<&'static Pool>> {
    static ALL: OnceLock<Mutex<Vec<&'static Pool>>> = OnceLock::new();
    lock(ALL.get_or_init(Default::default))
}

/// The bulkhead of `spec`: the one registered under its name, else a new one (kept for the
/// life of the process, like the function that uses it).
fn pool(spec: &BulkheadSpec) -> &'static Pool {
    let mut all = registry();
    let name = spec.name.unwrap_or(spec.default_name);
    if let Some(found) = all.iter().find(|b| &*b.name == name) {
        if (found.max_concurrent, found.max_queue) != (spec.max_concurrent, spec.max_queue) {
            tracing::warn!(
                target: "steadfast",
                bulkhead = name,
                "bulkhead `{name}` is shared by functions with different settings; the first one's ({} at once) apply",
                found.max_concurrent
            );
        }
        return found;
    }
    let made: &'static Pool = Box::leak(Box::new(Pool::new(spec)));
    all.push(made);
    made
}

/// The `static` behind a `#[bulkhead]` function.
#[derive(Debug)]
pub struct BulkheadSlot {
    spec: BulkheadSpec,
    bulkhead: OnceLock<&'static Pool>,
}

impl BulkheadSlot {
    /// A function's bulkhead, made (or found by name) at its first call.
    pub const fn new(spec: BulkheadSpec) -> BulkheadSlot {
        BulkheadSlot {
            spec,
            bulkhead: OnceLock::new(),
        }
    }

    #[inline]
    fn get(&'static self) -> &'static Pool {
        self.bulkhead.get_or_init(|| pool(&self.spec))
    }

    /// A slot for a sync call, waiting on this thread up to `max_wait`.
    pub fn enter_blocking(
        &'static self,
        max_wait: Duration,
    ) -> Result<BulkheadPermit, BulkheadFull> {
        let b = self.get();
        if b.try_enter() {
            return Ok(BulkheadPermit(b));
        }
        if max_wait.is_zero() {
            return Err(b.rejection(FullReason::Full));
        }
        let waiter = match b.enter_or_queue() {
            Ok(None) => return Ok(BulkheadPermit(b)),
            Ok(Some(waiter)) => waiter,
            Err(reason) => return Err(b.rejection(reason)),
        };
        blocking_on_runtime_warning();
        let deadline = Instant::now() + max_wait;
        loop {
            *lock(&waiter.wake) = Wake::Thread(std::thread::current());
            if waiter.granted.load(Ordering::Acquire) {
                return Ok(BulkheadPermit(b));
            }
            let now = Instant::now();
            if now >= deadline {
                return if b.give_up(&waiter) {
                    Ok(BulkheadPermit(b))
                } else {
                    Err(b.rejection(FullReason::WaitedOut))
                };
            }
            std::thread::park_timeout(deadline - now);
        }
    }

    /// A slot for an async call, waiting (as a task) up to `max_wait`.
    pub(crate) fn enter(&'static self, max_wait: Duration) -> Enter {
        let b = self.get();
        if b.try_enter() {
            return Enter::Now(Ok(BulkheadPermit(b)));
        }
        if max_wait.is_zero() {
            return Enter::Now(Err(b.rejection(FullReason::Full)));
        }
        match b.enter_or_queue() {
            Ok(None) => Enter::Now(Ok(BulkheadPermit(b))),
            Ok(Some(waiter)) => Enter::Wait(Waiting {
                bulkhead: b,
                waiter: Some(waiter),
                sleep: Box::pin(tokio::time::sleep(max_wait)),
            }),
            Err(reason) => Enter::Now(Err(b.rejection(reason))),
        }
    }
}

/// An async caller's way in, as a future: ready at once, or after waiting.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Entry(Option<Enter>);

impl BulkheadSlot {
    /// [`enter`](Self::enter) as a future.
    pub fn entry(&'static self, max_wait: Duration) -> Entry {
        Entry(Some(self.enter(max_wait)))
    }
}

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
    bulkhead: &'static Pool,
    waiter: Option<Arc<Waiter>>,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Future for Waiting {
    type Output = Result<BulkheadPermit, BulkheadFull>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let b = self.bulkhead;
        let Some(waiter) = self.waiter.clone() else {
            return Poll::Ready(Err(b.rejection(FullReason::WaitedOut)));
        };
        *lock(&waiter.wake) = Wake::Task(cx.waker().clone());
        if waiter.granted.load(Ordering::Acquire) {
            self.waiter = None;
            return Poll::Ready(Ok(BulkheadPermit(b)));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.waiter = None;
            return Poll::Ready(if b.give_up(&waiter) {
                Ok(BulkheadPermit(b))
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
            if self.bulkhead.give_up(&waiter) {
                // Handed a slot it will not use: pass it on.
                self.bulkhead.leave();
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

/// A bulkhead, by name: how full it is.
#[derive(Debug, Clone, Copy)]
pub struct Bulkhead(&'static Pool);

impl Bulkhead {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Its `max_concurrent`.
    pub fn limit(&self) -> u32 {
        self.0.max_concurrent
    }

    /// Calls inside now.
    pub fn in_use(&self) -> u32 {
        (self.0.word.load(Ordering::Relaxed) & IN_USE) as u32
    }

    /// Calls waiting for a slot now.
    pub fn queued(&self) -> u32 {
        (self.0.word.load(Ordering::Relaxed) >> 32) as u32
    }

    /// Calls admitted so far (those that waited included).
    pub fn admitted(&self) -> u64 {
        self.0.admitted.load(Ordering::Relaxed)
    }

    /// Calls turned away so far for `reason`.
    pub fn rejected(&self, reason: FullReason) -> u64 {
        self.0.rejected[reason as usize].load(Ordering::Relaxed)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(name: &'static str, max: u32, queue: Option<u32>) -> &'static BulkheadSlot {
        Box::leak(Box::new(BulkheadSlot::new(BulkheadSpec {
            name: Some(name),
            default_name: name,
            max_concurrent: max,
            max_queue: queue,
        })))
    }

    #[test]
    fn slots_are_given_back_and_a_full_bulkhead_rejects_at_once() {
        let s = slot("bulkhead.tests.full", 2, None);
        let a = s.enter_blocking(Duration::ZERO).unwrap();
        let b = s.enter_blocking(Duration::ZERO).unwrap();
        let full = s.enter_blocking(Duration::ZERO).unwrap_err();
        assert_eq!(full.reason(), FullReason::Full);
        assert_eq!(full.limit(), 2);
        drop(a);
        let c = s.enter_blocking(Duration::ZERO).unwrap();
        drop((b, c));
        let h = bulkhead_named("bulkhead.tests.full").unwrap();
        assert_eq!((h.in_use(), h.queued(), h.admitted()), (0, 0, 3));
        assert_eq!(h.rejected(FullReason::Full), 1);
    }

    #[test]
    fn waiters_are_served_in_order_and_a_full_queue_rejects() {
        let s = slot("bulkhead.tests.fifo", 1, Some(3));
        let held = s.enter_blocking(Duration::ZERO).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for i in 0..3 {
            let order = order.clone();
            threads.push(std::thread::spawn(move || {
                let p = s.enter_blocking(Duration::from_secs(30)).unwrap();
                lock(&order).push(i);
                drop(p);
            }));
            // Each one queued before the next starts.
            while bulkhead_named("bulkhead.tests.fifo").unwrap().queued() < i + 1 {
                std::thread::yield_now();
            }
        }
        let full = s.enter_blocking(Duration::from_secs(30)).unwrap_err();
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
        let held = s.enter_blocking(Duration::ZERO).unwrap();
        let e = s.enter_blocking(Duration::from_millis(20)).unwrap_err();
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
                let entered = match s.enter(Duration::from_millis(if i % 3 == 0 { 1 } else { 500 }))
                {
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
                        if let Ok(p) = s.enter_blocking(Duration::from_millis(200)) {
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
            .map(|_| s.enter_blocking(Duration::ZERO).unwrap())
            .collect();
        assert!(s.enter_blocking(Duration::ZERO).is_err());
        drop(all);
    }
}
