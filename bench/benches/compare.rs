//! steadfast against the crates users compare it with, in one process and one run.
//!
//! `cargo bench -p steadfast-bench --features peers --bench compare` (release, fat LTO).
//! Each figure is the median of 7 rounds (min and max beside it), each round about 100 ms
//! of calls per thread (at most 500,000), in ns per call. The last column is steadfast / the best other crate on the
//! same path (below 1 is faster).

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use steadfast::{
    BulkheadFull, CircuitOpen, Elapsed, RateLimited, bulkhead, circuit_breaker, fallback,
    monitored, rate_limit, retry, timeout,
};

// ---------------------------------------------------------------------------------------
// The functions under test. Every variant does the same work: add one to its argument.

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

impl From<Elapsed> for Error {
    fn from(_: Elapsed) -> Self {
        Error
    }
}

#[inline(never)]
fn bare(x: u64) -> Result<u64, Error> {
    if black_box(x) == u64::MAX {
        Err(Error)
    } else {
        Ok(x + 1)
    }
}

#[inline(never)]
fn failing(x: u64) -> Result<u64, Error> {
    if black_box(x) != u64::MAX {
        Err(Error)
    } else {
        Ok(x)
    }
}

#[inline(never)]
#[circuit_breaker(name = "b.success", failure_threshold = 5)]
fn sf_success(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
#[circuit_breaker(name = "b.failure", failure_threshold = 1073741823)]
fn sf_failure(x: u64) -> Result<u64, Error> {
    failing(x)
}

#[inline(never)]
#[circuit_breaker(name = "b.open", failure_threshold = 1, open_for = "1h")]
fn sf_open(x: u64) -> Result<u64, Error> {
    failing(x)
}

#[inline(never)]
#[retry(attempts = 3, delay = "100ms")]
fn sf_retry(x: u64) -> Result<u64, Error> {
    bare(x)
}

impl From<RateLimited> for Error {
    fn from(_: RateLimited) -> Self {
        Error
    }
}

// A rate so high that a turn is always free: what admission costs when tokens are there.
#[inline(never)]
#[rate_limit(rate = 4_000_000_000, per = "1s", name = "b.limit")]
fn sf_limited(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
#[rate_limit(rate = 4_000_000_000, per = "1s", name = "b.limit_keyed", key = x % 16)]
fn sf_limited_keyed(x: u64) -> Result<u64, Error> {
    bare(x)
}

impl From<BulkheadFull> for Error {
    fn from(_: BulkheadFull) -> Self {
        Error
    }
}

impl From<steadfast::ShuttingDown> for Error {
    fn from(_: steadfast::ShuttingDown) -> Self {
        Error
    }
}

// Slots to spare: what admission costs when one is free.
#[inline(never)]
#[bulkhead(max_concurrent = 1000, name = "b.bulkhead")]
fn sf_bulkhead(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
#[bulkhead(max_concurrent = 1000, name = "b.bulkhead_async")]
async fn sf_bulkhead_async(x: u64) -> Result<u64, Error> {
    bare(x)
}

impl From<steadfast::SharedError> for Error {
    fn from(_: steadfast::SharedError) -> Self {
        Error
    }
}

// A hit on one of 16 keys, warm.
#[inline(never)]
#[steadfast::cached(max_entries = 1000, key = x % 16)]
fn sf_cached(x: u64) -> Result<u64, Error> {
    bare(x % 16)
}

#[inline(never)]
#[cached::proc_macro::cached(size = 1000, result = true, key = "u64", convert = "{ x % 16 }")]
fn crate_cached(x: u64) -> Result<u64, Error> {
    bare(x % 16)
}

static MOKA: std::sync::LazyLock<moka::sync::Cache<u64, u64>> =
    std::sync::LazyLock::new(|| moka::sync::Cache::new(1000));

#[inline(never)]
fn moka_by_hand(x: u64) -> Result<u64, Error> {
    let key = x % 16;
    if let Some(v) = MOKA.get(&key) {
        return Ok(v);
    }
    let v = bare(key)?;
    MOKA.insert(key, v);
    Ok(v)
}

fn zero(_: Error) -> Result<u64, Error> {
    Ok(0)
}

// The body succeeds: what a fallback costs when it is not taken.
#[inline(never)]
#[fallback(zero)]
fn sf_fallback(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
fn bare_call(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
fn hand_loop(x: u64) -> Result<u64, Error> {
    let mut attempt = 1;
    loop {
        match bare(x) {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= 3 => return Err(e),
            Err(_) => {
                std::thread::sleep(Duration::from_millis(100));
                attempt += 1;
            }
        }
    }
}

#[inline(never)]
async fn bare_async(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
#[retry(attempts = 3, delay = "100ms")]
async fn sf_retry_async(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
#[timeout("1s")]
async fn sf_timeout(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
#[timeout("1s", detach)]
fn sf_detached(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
#[monitored(name = "m.steadfast")]
fn sf_monitored(x: u64) -> Result<u64, Error> {
    bare(x)
}

/// With `drain = "reject"`: the call counts itself, then passes the drain's fence.
#[inline(never)]
#[monitored(name = "m.steadfast.drained", drain = "reject")]
fn sf_monitored_drained(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
#[monitored(name = "m.steadfast.registry")]
fn sf_monitored_registry(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
#[tracing::instrument(skip_all)]
fn instrumented(x: u64) -> Result<u64, Error> {
    bare(x)
}

#[inline(never)]
#[autometrics::autometrics]
fn autometricked(x: u64) -> Result<u64, String> {
    bare(x).map_err(|_| String::from("error"))
}

/// The same figures as `#[monitored]` with the `metrics` crate, timed by hand.
#[inline(never)]
fn metrics_by_hand(x: u64) -> Result<u64, Error> {
    metrics::counter!("calls_total", "function" => "by_hand").increment(1);
    let in_flight = metrics::gauge!("in_flight", "function" => "by_hand");
    in_flight.increment(1.0);
    let start = Instant::now();
    let out = bare(x);
    metrics::histogram!("call_duration_seconds", "function" => "by_hand")
        .record(start.elapsed().as_secs_f64());
    if out.is_err() {
        metrics::counter!("errors_total", "function" => "by_hand").increment(1);
    }
    in_flight.decrement(1.0);
    out
}

// ---------------------------------------------------------------------------------------
// Measuring.

const MAX_CALLS: u64 = 500_000;
const ROUND: Duration = Duration::from_millis(100);
const ROUNDS: usize = 7;

/// Calls per round so that a round takes about [`ROUND`], from a first timing of 1,000.
fn calls_for(per_call_ns: f64) -> u64 {
    ((ROUND.as_nanos() as f64 / per_call_ns.max(0.1)) as u64).clamp(1_000, MAX_CALLS)
}

#[derive(Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

fn stats(mut samples: Vec<f64>) -> Stats {
    samples.sort_by(f64::total_cmp);
    Stats {
        median: samples[samples.len() / 2],
        min: samples[0],
        max: samples[samples.len() - 1],
    }
}

/// Runs `per_thread(calls)` on `threads` threads released together, each returning its
/// own ns per call, and gives the median of [`ROUNDS`] rounds of their average; the calls
/// per round are sized from a first round of 1,000.
fn measure(threads: usize, per_thread: &(dyn Fn(u64) -> f64 + Sync)) -> Stats {
    let round = |calls: u64| {
        let barrier = Barrier::new(threads);
        let times: Vec<f64> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        per_thread(calls)
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().expect("bench thread"))
                .collect()
        });
        times.iter().sum::<f64>() / threads as f64
    };
    let calls = calls_for(round(1_000));
    round(calls);
    stats((0..ROUNDS).map(|_| round(calls)).collect())
}

/// ns per call of `f` on `threads` threads at once.
fn sync_on(threads: usize, f: &(dyn Fn(u64) + Sync)) -> Stats {
    measure(threads, &|calls| {
        let start = Instant::now();
        for i in 0..calls {
            f(black_box(i));
        }
        start.elapsed().as_nanos() as f64 / calls as f64
    })
}

/// ns per call of an async call, on `threads` threads each with a current-thread runtime.
fn async_on<F, Fut>(threads: usize, f: F) -> Stats
where
    F: Fn(u64) -> Fut + Sync,
    Fut: std::future::Future<Output = ()>,
{
    measure(threads, &|calls| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let start = Instant::now();
            for i in 0..calls {
                f(black_box(i)).await;
            }
            start.elapsed().as_nanos() as f64 / calls as f64
        })
    })
}

struct Row {
    group: &'static str,
    name: &'static str,
    threads: usize,
    ours: bool,
    stats: Stats,
}

fn main() {
    let mut rows: Vec<Row> = Vec::new();
    // `STEADFAST_BENCH_ONLY=retry` measures only the groups whose name contains "retry".
    let only = std::env::var("STEADFAST_BENCH_ONLY").unwrap_or_default();
    let mut add = |group: &'static str,
                   name: &'static str,
                   threads: usize,
                   ours: bool,
                   run: &dyn Fn() -> Stats| {
        if group.contains(only.as_str()) {
            rows.push(Row {
                group,
                name,
                threads,
                ours,
                stats: run(),
            })
        }
    };

    // --- circuit breaker, closed, success; and the failure path; and rejections.
    let recloser = recloser::Recloser::custom()
        .error_rate(0.5)
        .closed_len(100)
        .open_wait(Duration::from_secs(30))
        .build();
    let failsafe_default = failsafe::Config::new().build();
    let failsafe_consecutive = failsafe::Config::new()
        .failure_policy(failsafe::failure_policy::consecutive_failures(
            5,
            failsafe::backoff::constant(Duration::from_secs(30)),
        ))
        .build();
    use failsafe::CircuitBreaker as _;
    let tower_layer = tower_resilience::circuitbreaker::CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(100)
        .build()
        .expect("a valid configuration");
    let tower_svc = tower::Layer::layer(
        &tower_layer,
        tower::service_fn(|x: u64| async move { bare(x) }),
    );

    for threads in [1, 2] {
        add(
            "breaker, closed, success",
            "bare call",
            threads,
            false,
            &|| sync_on(threads, &|x| drop(black_box(bare(x)))),
        );
        add(
            "breaker, closed, success",
            "steadfast",
            threads,
            true,
            &|| sync_on(threads, &|x| drop(black_box(sf_success(x)))),
        );
        add(
            "breaker, closed, success",
            "recloser",
            threads,
            false,
            &|| sync_on(threads, &|x| drop(black_box(recloser.call(|| bare(x))))),
        );
        add(
            "breaker, closed, success",
            "failsafe (default policy)",
            threads,
            false,
            &|| {
                sync_on(threads, &|x| {
                    drop(black_box(failsafe_default.call(|| bare(x))))
                })
            },
        );
        add(
            "breaker, closed, success",
            "failsafe (consecutive)",
            threads,
            false,
            &|| {
                sync_on(threads, &|x| {
                    drop(black_box(failsafe_consecutive.call(|| bare(x))))
                })
            },
        );
        let svc = tower_svc.clone();
        add(
            "breaker, closed, success",
            "tower-resilience",
            threads,
            false,
            &|| {
                async_on(threads, |x| {
                    let svc = svc.clone();
                    async move { drop(black_box(tower::ServiceExt::oneshot(svc, x).await)) }
                })
            },
        );
    }
    add("breaker, closed, failure", "steadfast", 1, true, &|| {
        sync_on(1, &|x| drop(black_box(sf_failure(x))))
    });

    let _ = sf_open(0);
    let recloser_open = recloser::Recloser::custom()
        .error_rate(0.01)
        .closed_len(1)
        .open_wait(Duration::from_secs(3600))
        .build();
    for _ in 0..4 {
        let _ = recloser_open.call(|| failing(0));
    }
    let failsafe_open = failsafe::Config::new()
        .failure_policy(failsafe::failure_policy::consecutive_failures(
            1,
            failsafe::backoff::constant(Duration::from_secs(3600)),
        ))
        .build();
    let _ = failsafe_open.call(|| failing(0));
    assert!(
        sf_open(0).is_err()
            && recloser_open.call(|| bare(0)).is_err()
            && failsafe_open.call(|| bare(0)).is_err()
    );
    add("breaker, open, rejected", "steadfast", 1, true, &|| {
        sync_on(1, &|x| drop(black_box(sf_open(x))))
    });
    add("breaker, open, rejected", "recloser", 1, false, &|| {
        sync_on(1, &|x| drop(black_box(recloser_open.call(|| bare(x)))))
    });
    add("breaker, open, rejected", "failsafe", 1, false, &|| {
        sync_on(1, &|x| drop(black_box(failsafe_open.call(|| bare(x)))))
    });

    // --- retry, first attempt succeeds.
    add(
        "retry, first attempt succeeds (sync)",
        "bare call",
        1,
        false,
        &|| sync_on(1, &|x| drop(black_box(bare(x)))),
    );
    add(
        "retry, first attempt succeeds (sync)",
        "hand-written loop",
        1,
        false,
        &|| sync_on(1, &|x| drop(black_box(hand_loop(x)))),
    );
    add(
        "retry, first attempt succeeds (sync)",
        "steadfast",
        1,
        true,
        &|| sync_on(1, &|x| drop(black_box(sf_retry(x)))),
    );
    add(
        "retry, first attempt succeeds (sync)",
        "backon",
        1,
        false,
        &|| {
            sync_on(1, &|x| {
                use backon::BlockingRetryable as _;
                drop(black_box(
                    (|| bare(x))
                        .retry(backon::ExponentialBuilder::default().with_max_times(2))
                        .call(),
                ))
            })
        },
    );
    add(
        "retry, first attempt succeeds (async)",
        "bare call",
        1,
        false,
        &|| async_on(1, |x| async move { drop(black_box(bare_async(x).await)) }),
    );
    add(
        "retry, first attempt succeeds (async)",
        "steadfast",
        1,
        true,
        &|| {
            async_on(
                1,
                |x| async move { drop(black_box(sf_retry_async(x).await)) },
            )
        },
    );
    add(
        "retry, first attempt succeeds (async)",
        "backon",
        1,
        false,
        &|| {
            async_on(1, |x| async move {
                use backon::Retryable as _;
                drop(black_box(
                    (|| bare_async(x))
                        .retry(backon::ExponentialBuilder::default().with_max_times(2))
                        .await,
                ))
            })
        },
    );
    add(
        "retry, first attempt succeeds (async)",
        "tokio-retry",
        1,
        false,
        &|| {
            async_on(1, |x| async move {
                let strategy = tokio_retry::strategy::ExponentialBackoff::from_millis(100).take(2);
                drop(black_box(
                    tokio_retry::Retry::start(strategy, || bare_async(x)).await,
                ))
            })
        },
    );

    // --- rate limit, a turn free: GCRA against governor's (direct and keyed).
    let quota = governor::Quota::per_second(std::num::NonZeroU32::new(4_000_000_000).unwrap());
    let gov_direct = governor::RateLimiter::direct(quota);
    let gov_keyed = governor::RateLimiter::<u64, _, _>::keyed(quota);
    for threads in [1, 2] {
        add("rate limit, turn free", "steadfast", threads, true, &|| {
            sync_on(threads, &|x| drop(black_box(sf_limited(x))))
        });
        add(
            "rate limit, turn free",
            "governor (direct)",
            threads,
            false,
            &|| {
                sync_on(threads, &|x| {
                    drop(black_box(
                        gov_direct.check().map_err(|_| Error).and_then(|()| bare(x)),
                    ))
                })
            },
        );
        add(
            "rate limit, keyed, turn free",
            "steadfast",
            threads,
            true,
            &|| sync_on(threads, &|x| drop(black_box(sf_limited_keyed(x)))),
        );
        add(
            "rate limit, keyed, turn free",
            "governor (keyed)",
            threads,
            false,
            &|| {
                sync_on(threads, &|x| {
                    drop(black_box(
                        gov_keyed
                            .check_key(&(x % 16))
                            .map_err(|_| Error)
                            .and_then(|()| bare(x)),
                    ))
                })
            },
        );
    }

    // --- bulkhead, a slot free: against a tokio semaphore used by hand (sync and async),
    // and tower's ConcurrencyLimit (async; one clone of the service per request, as a
    // server uses it).
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(1000));
    let tower_limited = tower::limit::ConcurrencyLimit::new(
        tower::service_fn(|x: u64| async move { bare(x) }),
        1000,
    );
    for threads in [1, 2] {
        add("bulkhead, slot free", "steadfast", threads, true, &|| {
            sync_on(threads, &|x| drop(black_box(sf_bulkhead(x))))
        });
        add(
            "bulkhead, slot free",
            "Semaphore::try_acquire",
            threads,
            false,
            &|| {
                sync_on(threads, &|x| {
                    let permit = semaphore.try_acquire().map_err(|_| Error);
                    drop(black_box(permit.and_then(|_p| bare(x))))
                })
            },
        );
        add(
            "bulkhead, slot free, async",
            "steadfast",
            threads,
            true,
            &|| {
                async_on(threads, |x| async move {
                    drop(black_box(sf_bulkhead_async(x).await))
                })
            },
        );
        add(
            "bulkhead, slot free, async",
            "Semaphore::acquire",
            threads,
            false,
            &|| {
                async_on(threads, |x| {
                    let semaphore = &semaphore;
                    async move {
                        let permit = semaphore.acquire().await.map_err(|_| Error);
                        drop(black_box(permit.and_then(|_p| bare(x))))
                    }
                })
            },
        );
        add(
            "bulkhead, slot free, async",
            "tower ConcurrencyLimit",
            threads,
            false,
            &|| {
                async_on(threads, |x| {
                    let svc = tower_limited.clone();
                    async move { drop(black_box(tower::ServiceExt::oneshot(svc, x).await)) }
                })
            },
        );
    }

    // --- cache hit, 16 warm keys: against the `cached` crate's attribute and moka by hand.
    for x in 0..16 {
        let _ = (sf_cached(x), crate_cached(x), moka_by_hand(x));
    }
    for threads in [1, 2] {
        add("cache hit", "steadfast", threads, true, &|| {
            sync_on(threads, &|x| drop(black_box(sf_cached(x))))
        });
        add("cache hit", "cached (crate)", threads, false, &|| {
            sync_on(threads, &|x| drop(black_box(crate_cached(x))))
        });
        add("cache hit", "moka by hand", threads, false, &|| {
            sync_on(threads, &|x| drop(black_box(moka_by_hand(x))))
        });
    }

    // --- fallback, not taken: against the same call without it.
    add("fallback, not taken", "bare call", 1, false, &|| {
        sync_on(1, &|x| drop(black_box(bare_call(x))))
    });
    add("fallback, not taken", "steadfast", 1, true, &|| {
        sync_on(1, &|x| drop(black_box(sf_fallback(x))))
    });

    // --- timeout, body ready at once.
    add("timeout, ready body", "bare await", 1, false, &|| {
        async_on(1, |x| async move { drop(black_box(bare_async(x).await)) })
    });
    add("timeout, ready body", "steadfast", 1, true, &|| {
        async_on(1, |x| async move { drop(black_box(sf_timeout(x).await)) })
    });
    add(
        "timeout, ready body",
        "tokio::time::timeout",
        1,
        false,
        &|| {
            async_on(1, |x| async move {
                drop(black_box(
                    tokio::time::timeout(Duration::from_secs(1), bare_async(x)).await,
                ))
            })
        },
    );

    add(
        "timeout, sync body done at once",
        "steadfast `detach` (a thread per call)",
        1,
        true,
        &|| sync_on(1, &|x| drop(black_box(sf_detached(x)))),
    );
    eprintln!(
        "future sizes: bare {} B, #[retry] {} B, #[timeout] {} B, tokio::time::timeout {} B",
        std::mem::size_of_val(&bare_async(0)),
        std::mem::size_of_val(&sf_retry_async(0)),
        std::mem::size_of_val(&sf_timeout(0)),
        // A tokio timeout makes its timer on construction: inside a runtime.
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
            .block_on(async {
                std::mem::size_of_val(&tokio::time::timeout(Duration::from_secs(1), bare_async(0)))
            }),
    );

    // --- count + latency per call.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::set_global_recorder(recorder).expect("the only recorder");
    for threads in [1, 2] {
        add(
            "count + latency, no tracing subscriber",
            "bare call",
            threads,
            false,
            &|| sync_on(threads, &|x| drop(black_box(bare(x)))),
        );
        add(
            "count + latency, no tracing subscriber",
            "steadfast",
            threads,
            true,
            &|| sync_on(threads, &|x| drop(black_box(sf_monitored(x)))),
        );
        add(
            "count + latency, no tracing subscriber",
            "steadfast, drain = \"reject\"",
            threads,
            false,
            &|| sync_on(threads, &|x| drop(black_box(sf_monitored_drained(x)))),
        );
        add(
            "count + latency, no tracing subscriber",
            "metrics + Prometheus recorder, by hand",
            threads,
            false,
            &|| sync_on(threads, &|x| drop(black_box(metrics_by_hand(x)))),
        );
        add(
            "count + latency, no tracing subscriber",
            "autometrics (prometheus-client)",
            threads,
            false,
            &|| sync_on(threads, &|x| drop(black_box(autometricked(x)))),
        );
    }
    tracing::subscriber::set_global_default(tracing_subscriber::registry())
        .expect("the only subscriber");
    for threads in [1, 2] {
        add(
            "span per call, registry subscriber",
            "steadfast (span + metrics)",
            threads,
            true,
            &|| sync_on(threads, &|x| drop(black_box(sf_monitored_registry(x)))),
        );
        add(
            "span per call, registry subscriber",
            "#[tracing::instrument] (span only)",
            threads,
            false,
            &|| sync_on(threads, &|x| drop(black_box(instrumented(x)))),
        );
    }

    // --- the table.
    println!("| path | crate | threads | median ns/call | min | max | steadfast / best other |");
    println!("|---|---|---|---|---|---|---|");
    for row in &rows {
        let best_other = rows
            .iter()
            .filter(|r| {
                r.group == row.group
                    && r.threads == row.threads
                    && !r.ours
                    && !r.name.starts_with("bare")
            })
            .map(|r| r.stats.median)
            .fold(f64::INFINITY, f64::min);
        let ratio = if row.ours && best_other.is_finite() {
            format!("{:.2}", row.stats.median / best_other)
        } else {
            String::new()
        };
        println!(
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {} |",
            row.group, row.name, row.threads, row.stats.median, row.stats.min, row.stats.max, ratio
        );
    }
}
