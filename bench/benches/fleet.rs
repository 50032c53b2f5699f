//! The cost of a fleet-scoped decision (`#[rate_limit(…, scope = "fleet")]`, one Lua
//! script on Redis per call, or with `lease = 10` one per ten calls) against a bare Redis
//! `INCR` round trip, in the same run, on a redis-server of its own on loopback. Sync and
//! async; median, p99 and mean of each, in microseconds, over rounds of calls.
//!
//! cargo bench -p steadfast-bench --features fleet --bench fleet

use std::time::{Duration, Instant};

use steadfast::{RateLimited, rate_limit};

const ROUNDS: usize = 5;
const CALLS: usize = 4_000;

// A quota far above what the bench asks: every decision is an admission.
#[rate_limit(
    rate = 1_000_000_000,
    per = "1s",
    scope = "fleet",
    name = "bench.fleet"
)]
async fn decided_async() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(
    rate = 1_000_000_000,
    per = "1s",
    scope = "fleet",
    name = "bench.fleet_sync"
)]
fn decided_sync() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(
    rate = 1_000_000_000,
    per = "1s",
    scope = "fleet",
    lease = 10,
    name = "bench.leased"
)]
async fn leased_async() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(
    rate = 1_000_000_000,
    per = "1s",
    scope = "fleet",
    lease = 10,
    name = "bench.leased_sync"
)]
fn leased_sync() -> Result<(), RateLimited> {
    Ok(())
}

#[path = "../../tests/support/redis_server.rs"]
mod redis_server;
use redis_server::{RedisServer, free_port};

/// Median, p99 and mean of `samples`, in µs.
fn summary(samples: &mut [Duration]) -> (f64, f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    let mean = samples.iter().sum::<Duration>().as_secs_f64() * 1e6 / samples.len() as f64;
    (at(0.5), at(0.99), mean)
}

/// One round of `CALLS` calls: median and p99.
fn round(mut call: impl FnMut()) -> (f64, f64, f64) {
    let mut samples = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let t = Instant::now();
        call();
        samples.push(t.elapsed());
    }
    summary(&mut samples)
}

/// [`round`] of an async call.
async fn round_async(mut call: impl AsyncFnMut()) -> (f64, f64, f64) {
    let mut samples = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let t = Instant::now();
        call().await;
        samples.push(t.elapsed());
    }
    summary(&mut samples)
}

fn row(name: &str, rounds: &[(f64, f64, f64)]) {
    let median_of = |figure: fn(&(f64, f64, f64)) -> f64| {
        let mut figures: Vec<f64> = rounds.iter().map(figure).collect();
        figures.sort_by(f64::total_cmp);
        figures[figures.len() / 2]
    };
    println!(
        "| {name} | {:.1} | {:.1} | {:.1} |",
        median_of(|r| r.0),
        median_of(|r| r.1),
        median_of(|r| r.2)
    );
}

fn main() {
    let server =
        RedisServer::start(free_port()).expect("redis-server (apt-get install redis-server)");
    let url = server.url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // Generous: the bench measures the round trip, not the fallback.
    steadfast::fleet::set_deadline(Duration::from_secs(1));
    let client = redis::Client::open(url.as_str()).expect("the URL");
    let mut async_incr = Vec::new();
    let mut async_fleet = Vec::new();
    let mut sync_incr = Vec::new();
    let mut sync_fleet = Vec::new();
    let mut async_leased = Vec::new();
    let mut sync_leased = Vec::new();
    runtime.block_on(async {
        steadfast::fleet::connect(&url, "bench")
            .await
            .expect("connect");
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .expect("a connection");
        for _ in 0..ROUNDS {
            async_incr.push(
                round_async(async || {
                    let _: i64 = redis::cmd("INCR")
                        .arg("bench:incr")
                        .query_async(&mut connection)
                        .await
                        .expect("INCR");
                })
                .await,
            );
            async_fleet.push(round_async(async || decided_async().await.expect("admitted")).await);
            async_leased.push(round_async(async || leased_async().await.expect("admitted")).await);
        }
    });
    steadfast::fleet::connect_blocking(&url, "bench").expect("connect");
    let mut connection = client.get_connection().expect("a connection");
    for _ in 0..ROUNDS {
        sync_incr.push(round(|| {
            let _: i64 = redis::cmd("INCR")
                .arg("bench:incr")
                .query(&mut connection)
                .expect("INCR");
        }));
        sync_fleet.push(round(|| decided_sync().expect("admitted")));
        sync_leased.push(round(|| leased_sync().expect("admitted")));
    }
    let health = steadfast::health();
    assert!(
        health.reasons.is_empty(),
        "a decision fell back: {health:?}"
    );
    println!("{ROUNDS} rounds of {CALLS} calls; medians of the rounds' figures, µs");
    println!("| path | median | p99 | mean |");
    println!("|---|---|---|---|");
    row("async: bare INCR round trip", &async_incr);
    row(
        "async: fleet decision (#[rate_limit(scope = \"fleet\")])",
        &async_fleet,
    );
    row("async: fleet decision, lease = 10", &async_leased);
    row("sync: bare INCR round trip", &sync_incr);
    row("sync: fleet decision", &sync_fleet);
    row("sync: fleet decision, lease = 10", &sync_leased);
}
