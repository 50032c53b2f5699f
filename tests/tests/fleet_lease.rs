//! `#[rate_limit(scope = "fleet", lease = n)]` against a real `redis-server` (started here on
//! a free loopback port, stopped by its process id): one round trip takes up to `n` turns
//! that are free now, the next calls spend the others without asking Redis, the fleet's
//! limit still holds in aggregate, and leased turns not spent within a second are lost.

use std::time::{Duration, Instant};

use steadfast::{RateLimited, rate_limit};

#[path = "../support/redis_server.rs"]
mod redis_server;
use redis_server::{RedisServer as Redis, free_port};

// 50 a second: one turn every 20 ms, a burst of 50.
#[rate_limit(
    rate = 50,
    per = "1s",
    scope = "fleet",
    lease = 10,
    name = "lease.async"
)]
async fn leased() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(
    rate = 50,
    per = "1s",
    scope = "fleet",
    lease = 10,
    name = "lease.sync"
)]
fn leased_sync() -> Result<(), RateLimited> {
    Ok(())
}

/// How far ahead of the server's clock the limiter's TAT stands, in ms (`None`: no key).
fn ahead_ms(redis: &Redis, key: &str) -> Option<i64> {
    let tat: i64 = redis.cli(&["GET", key]).trim().parse().ok()?;
    let time = redis.cli(&["TIME"]);
    let mut lines = time.lines();
    let secs: i64 = lines.next()?.trim().parse().ok()?;
    let micros: i64 = lines.next()?.trim().parse().ok()?;
    Some((tat - (secs * 1_000_000 + micros)) / 1_000)
}

fn exists(redis: &Redis, key: &str) -> bool {
    redis.cli(&["EXISTS", key]).trim() == "1"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_trip_leases_up_to_n_turns_and_the_limit_holds() {
    let port = free_port();
    let Some(redis) = Redis::start(port) else {
        return;
    };
    let app = format!("lease-{}", std::process::id());
    steadfast::fleet::connect(&redis.url(), &app).await.unwrap();
    // Exact counts: no answer of this debug build on a busy machine may fall back to a
    // local decision (tests/fleet.rs tests the deadline).
    steadfast::fleet::set_deadline(Duration::from_millis(500));
    let key = format!("{app}:steadfast:rate:lease.async");

    // One call takes ten turns: the fleet's TAT moves 10 × 20 ms ahead, not 20 ms.
    leased().await.unwrap();
    let ahead = ahead_ms(&redis, &key).expect("the first call asked Redis");
    assert!((150..=200).contains(&ahead), "TAT {ahead} ms ahead");

    // The next nine are the leased turns: Redis is not asked (the key stays deleted).
    redis.cli(&["DEL", &key]);
    for i in 0..9 {
        leased()
            .await
            .unwrap_or_else(|e| panic!("leased turn {i}: {e:?}"));
    }
    assert!(
        !exists(&redis, &key),
        "nine calls spent the lease, no round trip"
    );
    // The tenth asks again.
    leased().await.unwrap();
    assert!(exists(&redis, &key), "the eleventh call asked Redis");

    // Leased turns not spent within a second are lost: the next call asks Redis.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    redis.cli(&["DEL", &key]);
    leased().await.unwrap();
    assert!(exists(&redis, &key), "an expired lease is not spent");

    // In aggregate the limit holds: from full, a tight loop gets the burst of 50 and one
    // more turn per 20 ms it runs, however the turns were leased.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    redis.cli(&["DEL", &key]);
    let started = Instant::now();
    let mut ok = 0_u64;
    let mut last_limit = None;
    for _ in 0..200 {
        match leased().await {
            Ok(()) => ok += 1,
            Err(limited) => last_limit = Some(limited),
        }
    }
    let ran_ms = u64::try_from(started.elapsed().as_millis()).unwrap();
    assert!(
        (50..=50 + ran_ms / 20 + 1).contains(&ok),
        "{ok} admitted in {ran_ms} ms"
    );
    let limited = last_limit.expect("200 calls in a burst of 50");
    assert!(
        limited.retry_after() > Duration::ZERO
            && limited.retry_after() <= Duration::from_millis(20),
        "retry_after is exact, at most one interval: {limited:?}"
    );

    // A sync function leases the same way.
    let sync_key = format!("{app}:steadfast:rate:lease.sync");
    // (On this worker thread, as a sync function runs in an async service.)
    let (first, rest, after_first) = tokio::task::block_in_place(|| {
        let first = leased_sync().is_ok();
        redis.cli(&["DEL", &sync_key]);
        let rest = (0..9).filter(|_| leased_sync().is_ok()).count();
        (first, rest, exists(&redis, &sync_key))
    });
    assert!(first);
    assert_eq!(rest, 9);
    assert!(!after_first, "the nine leased turns made no round trip");
}
