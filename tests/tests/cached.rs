//! `#[cached]` (feature `cache`): only successes stored, one computation per key, TTL,
//! keys made of the arguments, the handle, and what waiters of a failed call get.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use steadfast::{SharedError, cached};

#[derive(Debug, Clone, PartialEq)]
enum Error {
    Down,
}

static RUNS: AtomicU32 = AtomicU32::new(0);

#[cached(max_entries = 100, name = "cached.quote")]
fn quote(symbol: &str, fail: bool) -> Result<String, Error> {
    RUNS.fetch_add(1, SeqCst);
    if fail {
        Err(Error::Down)
    } else {
        Ok(format!("{symbol}: 42"))
    }
}

#[test]
fn only_successes_are_stored_and_a_hit_skips_the_body() {
    assert_eq!(quote("ACME", true), Err(Error::Down));
    assert_eq!(
        quote("ACME", true),
        Err(Error::Down),
        "an error is not stored"
    );
    assert_eq!(RUNS.load(SeqCst), 2);
    assert_eq!(quote("ACME", false), Ok("ACME: 42".into()));
    assert_eq!(quote("ACME", false), Ok("ACME: 42".into()));
    assert_eq!(quote("INIT", false), Ok("INIT: 42".into()));
    assert_eq!(RUNS.load(SeqCst), 4, "the second ACME was a hit");
    let cache = steadfast::cache("cached.quote").unwrap();
    assert_eq!((cache.hits(), cache.misses(), cache.len()), (1, 4, 2));
    // The key: the arguments made owned, as a tuple.
    assert!(cache.invalidate(&("ACME".to_owned(), false)));
    assert!(!cache.invalidate(&"ACME"), "a key of another type");
    assert_eq!(cache.len(), 1);
    assert_eq!(quote("ACME", false), Ok("ACME: 42".into()));
    assert_eq!(RUNS.load(SeqCst), 5);
    cache.clear();
    assert_eq!(cache.len(), 0);
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "cached::quote")
        .unwrap();
    assert_eq!(m.cache.unwrap().hits, 1);
    let text = steadfast::metrics::prometheus();
    assert!(
        text.contains("steadfast_cache_hits_total{cache=\"cached.quote\"} 1"),
        "{text}"
    );
    assert!(text.contains("steadfast_cache_entries{cache=\"cached.quote\"} 0"));
}

static SLOW_RUNS: AtomicU32 = AtomicU32::new(0);

#[cached(max_entries = 10)]
fn slow(key: u32) -> Result<u32, Error> {
    SLOW_RUNS.fetch_add(1, SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    Ok(key * 2)
}

#[test]
fn a_hundred_concurrent_first_calls_run_the_body_once() {
    let barrier = Arc::new(Barrier::new(100));
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                slow(21)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), Ok(42));
    }
    assert_eq!(SLOW_RUNS.load(SeqCst), 1);
}

static ASYNC_RUNS: AtomicU32 = AtomicU32::new(0);

#[cached(max_entries = 10, name = "cached.fetch", key = key)]
async fn fetch(key: u32, hold: Duration) -> Result<u32, Error> {
    ASYNC_RUNS.fetch_add(1, SeqCst);
    tokio::time::sleep(hold).await;
    Ok(key + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_first_calls_run_once_and_a_cancelled_leader_hands_over() {
    let tasks: Vec<_> = (0..100)
        .map(|_| tokio::spawn(fetch(1, Duration::from_millis(50))))
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), Ok(2));
    }
    assert_eq!(ASYNC_RUNS.load(SeqCst), 1);

    // The first call for key 7 is cancelled halfway; the one waiting for it takes over.
    let leader = tokio::spawn(fetch(7, Duration::from_millis(200)));
    // Until the first call runs the body (no timing margin: its count says so).
    while ASYNC_RUNS.load(SeqCst) < 2 {
        tokio::task::yield_now().await;
    }
    let waiter = tokio::spawn(fetch(7, Duration::from_millis(200)));
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Whether the waiter was waiting yet or not, it runs the body itself.
    leader.abort();
    assert_eq!(waiter.await.unwrap(), Ok(8));
    assert_eq!(ASYNC_RUNS.load(SeqCst), 3, "the waiter ran the body again");
    assert_eq!(fetch(7, Duration::ZERO).await, Ok(8));
    assert_eq!(ASYNC_RUNS.load(SeqCst), 3, "and stored it");
}

static TTL_RUNS: AtomicU32 = AtomicU32::new(0);

#[cached(max_entries = 10, ttl = "500ms")]
fn short_lived() -> Result<u32, Error> {
    Ok(TTL_RUNS.fetch_add(1, SeqCst))
}

#[test]
fn an_entry_lives_for_its_ttl() {
    assert_eq!(short_lived(), Ok(0));
    assert_eq!(short_lived(), Ok(0));
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(short_lived(), Ok(1));
}

// --- what the waiters of a failed first call get

static SHARED_RUNS: AtomicU32 = AtomicU32::new(0);

#[derive(Debug)]
enum Opaque {
    Failed,
    Shared,
}

impl From<SharedError> for Opaque {
    fn from(_: SharedError) -> Self {
        Opaque::Shared
    }
}

#[cached(max_entries = 10)]
fn opaque(key: u32) -> Result<u32, Opaque> {
    SHARED_RUNS.fetch_add(1, SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    let _ = key;
    Err(Opaque::Failed)
}

#[test]
fn waiters_of_a_failed_call_get_its_error_or_a_shared_error() {
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                opaque(1)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let failed = results
        .iter()
        .filter(|r| matches!(r, Err(Opaque::Failed)))
        .count();
    let shared = results
        .iter()
        .filter(|r| matches!(r, Err(Opaque::Shared)))
        .count();
    // One ran it and got its own error; those that waited for it got `SharedError`.
    assert_eq!(failed, SHARED_RUNS.load(SeqCst) as usize);
    assert_eq!(failed + shared, 4);
    assert!(shared >= 1, "{results:?}");
}

// --- keys

static KEY_RUNS: AtomicU32 = AtomicU32::new(0);

#[cached(max_entries = 10, name = "cached.keys")]
fn keyed(region: Option<&str>, ids: (u32, u32)) -> Result<u32, Error> {
    KEY_RUNS.fetch_add(1, SeqCst);
    Ok(region.map_or(0, |r| r.len() as u32) + ids.0 + ids.1)
}

#[test]
fn keys_from_options_of_references_and_tuples() {
    assert_eq!(keyed(Some("eu"), (1, 2)), Ok(5));
    assert_eq!(keyed(Some(&String::from("eu")), (1, 2)), Ok(5));
    assert_eq!(keyed(None, (1, 2)), Ok(3));
    assert_eq!(KEY_RUNS.load(SeqCst), 2);
    let cache = steadfast::cache("cached.keys").unwrap();
    assert!(cache.invalidate(&(Some("eu".to_owned()), (1u32, 2u32))));
    assert_eq!(cache.len(), 1);
}

struct Client {
    id: u32,
}

static METHOD_RUNS: AtomicU32 = AtomicU32::new(0);

impl Client {
    #[cached(max_entries = 10, key = (self.id, symbol.to_owned()))]
    fn price(&self, symbol: &str) -> Result<u32, Error> {
        METHOD_RUNS.fetch_add(1, SeqCst);
        Ok(self.id * 100 + symbol.len() as u32)
    }
}

#[test]
fn a_method_keys_by_what_tells_instances_apart() {
    let (a, b) = (Client { id: 1 }, Client { id: 2 });
    assert_eq!(a.price("X"), Ok(101));
    assert_eq!(b.price("X"), Ok(201));
    assert_eq!(a.price("X"), Ok(101));
    assert_eq!(METHOD_RUNS.load(SeqCst), 2);
}

static REENTRANT_RUNS: AtomicU32 = AtomicU32::new(0);

#[cached(max_entries = 10, key = n)]
fn reentrant(n: u32, depth: u32) -> Result<u32, Error> {
    REENTRANT_RUNS.fetch_add(1, SeqCst);
    if depth == 0 {
        Ok(n)
    } else {
        // The same key, while it is being computed: runs without the cache.
        reentrant(n, depth - 1)
    }
}

#[test]
fn a_call_for_a_key_it_is_computing_does_not_wait_for_itself() {
    assert_eq!(reentrant(5, 2), Ok(5));
    assert_eq!(REENTRANT_RUNS.load(SeqCst), 3);
    assert_eq!(reentrant(5, 2), Ok(5));
    assert_eq!(REENTRANT_RUNS.load(SeqCst), 3, "stored by the outer call");
}

#[cached(max_entries = 10)]
fn plain(x: u32) -> u32 {
    RUNS.fetch_add(0, SeqCst);
    x * 3
}

#[test]
fn a_value_that_is_not_a_result_is_stored_as_it_is() {
    assert_eq!(plain(2), 6);
    assert_eq!(plain(2), 6);
}

static TTI_RUNS: AtomicU32 = AtomicU32::new(0);

#[cached(max_entries = 10, tti = "1s")]
fn idle_expiring() -> Result<u32, Error> {
    Ok(TTI_RUNS.fetch_add(1, SeqCst))
}

#[test]
fn an_entry_read_within_its_tti_stays_and_an_idle_one_goes() {
    assert_eq!(idle_expiring(), Ok(0));
    // Read every 200 ms for 800 ms: never idle for 1 s, so never recomputed.
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(idle_expiring(), Ok(0));
    }
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(idle_expiring(), Ok(1));
}

static PANIC_RUNS: AtomicU32 = AtomicU32::new(0);

#[cached(max_entries = 10)]
fn panics_first(key: u32) -> Result<u32, Error> {
    let run = PANIC_RUNS.fetch_add(1, SeqCst);
    std::thread::sleep(Duration::from_millis(200));
    if run == 0 {
        panic!("the first computation panics");
    }
    Ok(key)
}

#[test]
fn a_panicking_first_call_hands_over_to_a_waiter() {
    let first = std::thread::spawn(|| panics_first(3));
    // Until the first call runs the body (its count says so, no timing margin).
    while PANIC_RUNS.load(SeqCst) == 0 {
        std::thread::yield_now();
    }
    let waiter = std::thread::spawn(|| panics_first(3));
    assert!(first.join().is_err(), "the panic reaches its own caller");
    assert_eq!(waiter.join().unwrap(), Ok(3));
    assert_eq!(PANIC_RUNS.load(SeqCst), 2);
    assert_eq!(
        panics_first(3),
        Ok(3),
        "stored by the waiter that took over"
    );
    assert_eq!(PANIC_RUNS.load(SeqCst), 2);
}
