//! `#[cached]` (feature `cache`): one bounded cache per function, on moka, with TTL, TTI
//! and one computation per key (concurrent first calls wait for the first one; if it is
//! cancelled or panics, one of them takes over).
//!
//! The cache's key and value types are the function's, known where it is called: the
//! `static` of a function keeps its moka cache type-erased, and each call finds it again by
//! its types (one type comparison). Only successes are stored: for `Result<T, E>`, the `T`
//! of an `Ok`; another return type is stored as it is. Callers waiting for a first call
//! that failed get a clone of its error when `E: Clone`, else `E::from(SharedError)`.

use std::any::Any;
use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hash, RandomState};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::figures::{self, CacheMetrics, Figures, Function, Part};

/// What callers that waited for a first call get when that call failed and its error
/// cannot be cloned: convert it into your error with `From`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharedError;

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a concurrent call computing this value failed, and its error cannot be cloned")
    }
}

impl std::error::Error for SharedError {}

/// A cache's settings, as the attribute gives them.
#[derive(Debug, Clone, Copy)]
pub struct CacheSpec {
    /// `name = "…"`, if written.
    pub name: Option<&'static str>,
    /// `module::fn`, the name when none is written.
    pub default_name: &'static str,
    /// Entries kept at most.
    pub max_entries: u64,
    /// Time to live from insertion.
    pub ttl: Option<Duration>,
    /// Time to idle since the last read.
    pub tti: Option<Duration>,
}

/// What a handle can do to a cache whose types it does not know.
trait Ops: Send + Sync {
    fn invalidate(&self, key: &dyn Any) -> bool;
    fn clear(&self);
    fn len(&self) -> u64;
}

/// Runs `f` on `key` if it is of the cache's key type `K`; whether it was.
fn as_key<K: 'static>(key: &dyn Any, f: impl FnOnce(&K)) -> bool {
    key.downcast_ref::<K>().map(f).is_some()
}

struct SyncOps<K, V>(moka::sync::Cache<K, V>);

impl<K, V> Ops for SyncOps<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn invalidate(&self, key: &dyn Any) -> bool {
        as_key(key, |key: &K| self.0.invalidate(key))
    }

    fn clear(&self) {
        self.0.invalidate_all();
    }

    fn len(&self) -> u64 {
        self.0.run_pending_tasks();
        self.0.entry_count()
    }
}

struct AsyncOps<K, V>(moka::future::Cache<K, V>);

impl<K, V> Ops for AsyncOps<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn invalidate(&self, key: &dyn Any) -> bool {
        as_key(key, |key: &K| block_on(self.0.invalidate(key)))
    }

    fn clear(&self) {
        self.0.invalidate_all();
    }

    fn len(&self) -> u64 {
        block_on(self.0.run_pending_tasks());
        self.0.entry_count()
    }
}

/// Runs a future of moka's own to completion on this thread (they wait on moka's locks,
/// not on a runtime), so that a handle's methods are plain calls.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// One function's cache.
struct Store {
    name: Arc<str>,
    /// The moka cache, as `moka::sync::Cache<K, V>` or `moka::future::Cache<K, V>`.
    cache: Box<dyn Any + Send + Sync>,
    ops: Box<dyn Ops>,
    hits: AtomicU64,
    misses: AtomicU64,
}

fn registry() -> std::sync::MutexGuard<'static, Vec<&'static Store>> {
    static ALL: Mutex<Vec<&'static Store>> = Mutex::new(Vec::new());
    ALL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `static` behind a `#[cached]` function.
pub struct CacheSlot {
    spec: CacheSpec,
    function: &'static Function,
    store: OnceLock<&'static Store>,
    warned: AtomicBool,
}

impl fmt::Debug for CacheSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheSlot")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl CacheSlot {
    /// A function's cache, made at its first call, when it also joins the figures of
    /// `function`.
    pub const fn new(spec: CacheSpec, function: &'static Function) -> CacheSlot {
        CacheSlot {
            spec,
            function,
            store: OnceLock::new(),
            warned: AtomicBool::new(false),
        }
    }

    fn name(&self) -> &'static str {
        self.spec.name.unwrap_or(self.spec.default_name)
    }

    fn store(
        &'static self,
        make: impl FnOnce(&CacheSpec) -> (Box<dyn Any + Send + Sync>, Box<dyn Ops>),
    ) -> &'static Store {
        self.store.get_or_init(|| {
            let (cache, ops) = make(&self.spec);
            let store: &'static Store = Box::leak(Box::new(Store {
                name: Arc::from(self.name()),
                cache,
                ops,
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            }));
            registry().push(store);
            figures::join(self.function, self);
            store
        })
    }

    fn sync_cache<K, V>(&'static self) -> (&'static Store, Option<&'static moka::sync::Cache<K, V>>)
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let store = self.store(|spec| {
            let cache: moka::sync::Cache<K, V> = builder(spec).build();
            (Box::new(cache.clone()), Box::new(SyncOps(cache)))
        });
        (store, store.cache.downcast_ref())
    }

    fn async_cache<K, V>(
        &'static self,
    ) -> (&'static Store, Option<&'static moka::future::Cache<K, V>>)
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let store = self.store(|spec| {
            let cache: moka::future::Cache<K, V> = future_builder(spec).build();
            (Box::new(cache.clone()), Box::new(AsyncOps(cache)))
        });
        (store, store.cache.downcast_ref())
    }

    #[cold]
    fn warn_bypass(&self, why: &str) {
        if !self.warned.swap(true, Relaxed) {
            tracing::warn!(target: "steadfast", cache = self.name(), "#[cached] `{}`: {why}; the call runs without the cache", self.name());
        }
    }
}

fn builder<K, V>(spec: &CacheSpec) -> moka::sync::CacheBuilder<K, V, moka::sync::Cache<K, V>>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let mut b = moka::sync::Cache::builder().max_capacity(spec.max_entries);
    if let Some(ttl) = spec.ttl {
        b = b.time_to_live(ttl);
    }
    if let Some(tti) = spec.tti {
        b = b.time_to_idle(tti);
    }
    b
}

fn future_builder<K, V>(
    spec: &CacheSpec,
) -> moka::future::CacheBuilder<K, V, moka::future::Cache<K, V>>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let mut b = moka::future::Cache::builder().max_capacity(spec.max_entries);
    if let Some(ttl) = spec.ttl {
        b = b.time_to_live(ttl);
    }
    if let Some(tti) = spec.tti {
        b = b.time_to_idle(tti);
    }
    b
}

impl Part for CacheSlot {
    fn read_into(&self, into: &mut Figures) {
        if let Some(store) = self.store.get() {
            into.cache = Some(CacheMetrics {
                name: store.name.to_string(),
                hits: store.hits.load(Relaxed),
                misses: store.misses.load(Relaxed),
                entries: store.ops.len(),
            });
        }
    }
}

/// How one return type is cached: what is stored (`V`), how a failure is shared with the
/// callers that waited for it. Made by the `CacheResult…` / `CacheValue` traits below,
/// chosen by the function's return type.
/// `S` is what of a failure is shared with the callers that waited for it (moka holds it).
#[allow(missing_debug_implementations)]
pub struct Mode<R, V, E, S> {
    split: fn(R) -> Result<V, E>,
    ok: fn(V) -> R,
    err: fn(E) -> R,
    keep: fn(&E) -> S,
    give: fn(&S) -> E,
}

/// Picks a `Mode` for the return type `R`, most specific first: `Result<T, E>` with a
/// clonable `E`, `Result<T, E>` with `E: From<SharedError>`, any other clonable type.
#[allow(missing_debug_implementations)]
pub struct CacheKind<R>(PhantomData<fn() -> R>);

impl<R> CacheKind<R> {
    /// The picker, for `(&&&CacheKind::<R>::NEW).mode()`.
    pub const NEW: CacheKind<R> = CacheKind(PhantomData);
}

/// `Result<T, E>`, `E: Clone`: waiters get a clone of the first call's error.
pub trait CacheResultClone {
    /// The return type.
    type R;
    /// What is stored.
    type V;
    /// The error.
    type E;
    /// How.
    fn mode(&self) -> Mode<Self::R, Self::V, Self::E, Self::E>;
}

impl<T, E> CacheResultClone for &&CacheKind<Result<T, E>>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    type R = Result<T, E>;
    type V = T;
    type E = E;
    fn mode(&self) -> Mode<Result<T, E>, T, E, E> {
        Mode {
            split: |r| r,
            ok: Ok,
            err: Err,
            keep: E::clone,
            give: E::clone,
        }
    }
}

/// `Result<T, E>`, `E: From<SharedError>`: waiters get `E::from(SharedError)`.
pub trait CacheResultShared {
    /// The return type.
    type R;
    /// What is stored.
    type V;
    /// The error.
    type E;
    /// How.
    fn mode(&self) -> Mode<Self::R, Self::V, Self::E, ()>;
}

impl<T, E> CacheResultShared for &CacheKind<Result<T, E>>
where
    T: Clone + Send + Sync + 'static,
    E: From<SharedError>,
{
    type R = Result<T, E>;
    type V = T;
    type E = E;
    fn mode(&self) -> Mode<Result<T, E>, T, E, ()> {
        Mode {
            split: |r| r,
            ok: Ok,
            err: Err,
            keep: |_| (),
            give: |()| E::from(SharedError),
        }
    }
}

/// Any other return type: stored as it is (it never fails).
pub trait CacheValue {
    /// The return type.
    type R;
    /// How.
    fn mode(&self) -> Mode<Self::R, Self::R, Infallible, Infallible>;
}

impl<R: Clone + Send + Sync + 'static> CacheValue for CacheKind<R> {
    type R = R;
    fn mode(&self) -> Mode<R, R, Infallible, Infallible> {
        Mode {
            split: Ok,
            ok: |v| v,
            err: |e| match e {},
            keep: |e| match *e {},
            give: |e| match *e {},
        }
    }
}

thread_local! {
    /// The (cache, key hash) pairs whose first call runs on this thread now.
    static COMPUTING: RefCell<Vec<(usize, u64)>> = const { RefCell::new(Vec::new()) };
}

tokio::task_local! {
    /// The (cache, key hash) pairs whose first call this task is running.
    static COMPUTING_TASK: Vec<(usize, u64)>;
}

fn key_hash<K: Hash>(key: &K) -> u64 {
    static HASHER: OnceLock<RandomState> = OnceLock::new();
    HASHER.get_or_init(RandomState::new).hash_one(key)
}

/// Removes a pair from [`COMPUTING`] when the first call ends, however it ends.
struct Computing(usize, u64);

impl Drop for Computing {
    fn drop(&mut self) {
        let _ = COMPUTING.try_with(|c| {
            let mut c = c.borrow_mut();
            if let Some(at) = c.iter().rposition(|p| *p == (self.0, self.1)) {
                c.remove(at);
            }
        });
    }
}

/// A sync `#[cached]` call: the stored value, or the body run once for this key while
/// other callers of the key wait.
pub fn cached<K, R, V, E, S>(
    slot: &'static CacheSlot,
    key: K,
    mode: Mode<R, V, E, S>,
    body: impl FnOnce() -> R,
) -> R
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Send + Sync + 'static,
{
    let (cache, id) = match look_up::<K, V>(slot, &key) {
        Lookup::Hit(v) => return (mode.ok)(v),
        Lookup::Bypass => return body(),
        Lookup::Miss(cache, id) => (cache, id),
    };
    let mut own = None;
    let init = || match (mode.split)(body()) {
        Ok(v) => Ok(v),
        Err(e) => {
            let shared = (mode.keep)(&e);
            own = Some(e);
            Err(shared)
        }
    };
    let result = compute(cache, key, id, Box::new(init));
    match result {
        Ok(v) => (mode.ok)(v),
        Err(failed) => match own {
            Some(e) => (mode.err)(e),
            None => (mode.err)((mode.give)(&failed)),
        },
    }
}

/// What the cache says to a sync call.
enum Lookup<K: 'static, V: 'static> {
    Hit(V),
    /// Run the body without the cache.
    Bypass,
    /// Not there: compute it (`id`: the cache and the key's hash).
    Miss(&'static moka::sync::Cache<K, V>, (usize, u64)),
}

/// A sync call's lookup: generic over the key and value types only, so its code is
/// compiled once per such pair rather than once per cached function.
#[inline(never)]
fn look_up<K, V>(slot: &'static CacheSlot, key: &K) -> Lookup<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let (store, cache) = slot.sync_cache::<K, V>();
    let Some(cache) = cache else {
        slot.warn_bypass("its name is taken by a cache of other types");
        return Lookup::Bypass;
    };
    if let Some(v) = cache.get(key) {
        store.hits.fetch_add(1, Relaxed);
        crate::observe::cache_lookup(&store.name, true);
        return Lookup::Hit(v);
    }
    // A key being computed is not in the cache yet: only a miss can be a call to itself.
    let id = (slot as *const CacheSlot as usize, key_hash(key));
    if COMPUTING.with(|c| c.borrow().contains(&id)) {
        slot.warn_bypass("a call for a key called itself with the same key while computing it");
        return Lookup::Bypass;
    }
    store.misses.fetch_add(1, Relaxed);
    crate::observe::cache_lookup(&store.name, false);
    Lookup::Miss(cache, id)
}

/// The first call of a key, through moka: generic over the key, value and shared failure
/// types only, so moka's initialisation code is compiled once per such triple rather than
/// once per cached function (the function's body comes boxed, one allocation per miss).
#[inline(never)]
fn compute<K, V, S>(
    cache: &moka::sync::Cache<K, V>,
    key: K,
    id: (usize, u64),
    init: Box<dyn FnOnce() -> Result<V, S> + '_>,
) -> Result<V, Arc<S>>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Send + Sync + 'static,
{
    cache.try_get_with(key, || {
        COMPUTING.with(|c| c.borrow_mut().push(id));
        let _computing = Computing(id.0, id.1);
        init()
    })
}

/// What the cache says to an async call.
enum LookupAsync<K: 'static, V: 'static> {
    Hit(V),
    /// Run the body without the cache.
    Bypass,
    /// Not there: compute it, in a task-local scope of the keys this task computes.
    Miss(&'static moka::future::Cache<K, V>, Vec<(usize, u64)>),
}

/// An async call's lookup: generic over the key and value types only, so its code is
/// compiled once per such pair rather than once per cached function.
async fn look_up_async<K, V>(slot: &'static CacheSlot, key: &K) -> LookupAsync<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let (store, cache) = slot.async_cache::<K, V>();
    let Some(cache) = cache else {
        slot.warn_bypass("its name is taken by a cache of other types");
        return LookupAsync::Bypass;
    };
    if let Some(v) = cache.get(key).await {
        store.hits.fetch_add(1, Relaxed);
        crate::observe::cache_lookup(&store.name, true);
        return LookupAsync::Hit(v);
    }
    // A key being computed is not in the cache yet: only a miss can be a call to itself.
    let id = (slot as *const CacheSlot as usize, key_hash(key));
    let mut within = COMPUTING_TASK.try_with(|c| c.clone()).unwrap_or_default();
    if within.contains(&id) {
        slot.warn_bypass("a call for a key awaited a call with the same key while computing it");
        return LookupAsync::Bypass;
    }
    store.misses.fetch_add(1, Relaxed);
    crate::observe::cache_lookup(&store.name, false);
    within.push(id);
    LookupAsync::Miss(cache, within)
}

/// [`cached`] for an `async fn`.
pub async fn cached_async<K, R, V, E, S, F>(
    slot: &'static CacheSlot,
    key: K,
    mode: Mode<R, V, E, S>,
    body: F,
) -> R
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Send + Sync + 'static,
    F: Future<Output = R>,
{
    let (cache, scope) = match look_up_async::<K, V>(slot, &key).await {
        LookupAsync::Hit(v) => return (mode.ok)(v),
        LookupAsync::Bypass => return body.await,
        LookupAsync::Miss(cache, scope) => (cache, scope),
    };
    let mut own = None;
    let init = COMPUTING_TASK.scope(scope, async {
        match (mode.split)(body.await) {
            Ok(v) => Ok(v),
            Err(e) => {
                let shared = (mode.keep)(&e);
                own = Some(e);
                Err(shared)
            }
        }
    });
    let result = cache.try_get_with(key, init).await;
    match result {
        Ok(v) => (mode.ok)(v),
        Err(failed) => match own {
            Some(e) => (mode.err)(e),
            None => (mode.err)((mode.give)(&failed)),
        },
    }
}

/// A `#[cached]` function's cache, by name: what it holds, and the means to empty it.
#[derive(Clone, Copy)]
pub struct Cache(&'static Store);

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// Its name (`name = "…"`, else the function's path).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Removes the entry of `key` (of the cache's key type: the argument made owned, or a
    /// tuple of the arguments, or the `key = …` expression's type). Returns `false` when
    /// `key` is not of that type.
    pub fn invalidate<K: Any>(&self, key: &K) -> bool {
        self.0.ops.invalidate(key)
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.0.ops.clear();
    }

    /// Entries held now.
    pub fn len(&self) -> u64 {
        self.0.ops.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls answered from the cache.
    pub fn hits(&self) -> u64 {
        self.0.hits.load(Relaxed)
    }

    /// Calls that were not (they ran the body, or waited for a call that did).
    pub fn misses(&self) -> u64 {
        self.0.misses.load(Relaxed)
    }
}

/// The cache called `name`, once its function has been called.
pub fn cache(name: &str) -> Option<Cache> {
    registry()
        .iter()
        .find(|s| &*s.name == name)
        .map(|s| Cache(s))
}

/// Every cache in use, in the order of their names.
pub fn caches() -> Vec<Cache> {
    let mut all: Vec<Cache> = registry().iter().map(|s| Cache(s)).collect();
    all.sort_by(|a, b| a.name().cmp(b.name()));
    all
}
