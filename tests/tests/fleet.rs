//! `scope = "fleet"` against a real `redis-server` (Debian's, installed by `.ci/run`),
//! started here on a free loopback port and stopped by its process id: one shared limit,
//! keys under the app's prefix that expire, the decision on the server's state (another
//! node's use counts), and Redis killed mid-run: calls go on under this process's share,
//! none waits past the deadline, health says so, and sharing resumes when it is back.

use std::time::{Duration, Instant};

use steadfast::{HealthStatus, RateLimited, circuit_breaker, rate_limit};

#[path = "../support/redis_server.rs"]
mod redis_server;
use redis_server::{RedisServer as Redis, free_port};

#[path = "../support/partner.rs"]
mod partner;
use partner::PartnerError;

#[rate_limit(
    rate = 10,
    per = "1s",
    scope = "fleet",
    expected_nodes = 2,
    name = "fleet.quota"
)]
async fn quota() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(rate = 4, per = "1s", scope = "fleet", name = "fleet.sync")]
fn sync_quota() -> Result<(), RateLimited> {
    Ok(())
}

#[circuit_breaker(
    name = "fleet.partner",
    failure_threshold = 1,
    open_for = "30s",
    scope = "fleet",
    quorum = 2
)]
async fn partner(fail: bool) -> Result<(), PartnerError> {
    partner::answer(fail)
}

#[circuit_breaker(
    name = "fleet.flaky",
    failure_threshold = 1,
    open_for = "400ms",
    scope = "fleet",
    quorum = 2
)]
async fn flaky(fail: bool) -> Result<(), PartnerError> {
    partner::answer(fail)
}

#[circuit_breaker(name = "fleet.late", scope = "fleet", quorum = 2)]
async fn late() -> Result<(), PartnerError> {
    Ok(())
}

/// Another node's marker, written as its refresh writes it: the member, scored by when it
/// expires (server ms), and the set's own expiry moved to the furthest marker's.
fn mark(redis: &Redis, key: &str, expires: &str, node: &str) {
    redis.cli(&["ZADD", key, expires, node]);
    redis.cli(&["PEXPIREAT", key, expires, "GT"]);
    if redis.cli(&["PTTL", key]).trim() == "-1" {
        redis.cli(&["PEXPIREAT", key, expires]);
    }
}

/// The server's clock in milliseconds.
fn server_ms(redis: &Redis) -> u64 {
    let time = redis.cli(&["TIME"]);
    let mut lines = time.lines();
    let secs: u64 = lines.next().unwrap().trim().parse().unwrap();
    let micros: u64 = lines.next().unwrap().trim().parse().unwrap();
    secs * 1000 + micros / 1000
}

async fn admitted(n: usize) -> (usize, Duration) {
    let mut ok = 0;
    let mut slowest = Duration::ZERO;
    for _ in 0..n {
        let started = Instant::now();
        if quota().await.is_ok() {
            ok += 1;
        }
        slowest = slowest.max(started.elapsed());
    }
    (ok, slowest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_limit_for_the_fleet_local_shares_while_redis_is_down() {
    let port = free_port();
    let Some(mut redis) = Redis::start(port) else {
        return;
    };
    let app = format!("tests-{}", std::process::id());

    // Not connected yet: this process's share, rate / expected_nodes = 5.
    assert_eq!(admitted(20).await.0, 5);
    assert_eq!(
        steadfast::fleet::connect("redis://[", &app)
            .await
            .unwrap_err()
            .to_string()
            .split(':')
            .next(),
        Some("fleet Redis URL")
    );
    assert!(
        steadfast::fleet::connect("redis://127.0.0.1:1", "no spaces allowed")
            .await
            .is_err()
    );
    steadfast::fleet::connect(&format!("redis://127.0.0.1:{port}"), &app)
        .await
        .unwrap();
    // While Redis is up, exact counts: one answer past the 5 ms deadline (this debug
    // build on a busy machine, right after it was linked) would be decided locally and
    // admit one more. The deadline itself is back for the Redis-killed part below.
    steadfast::fleet::set_deadline(Duration::from_millis(500));
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Shared: the whole rate, decided on the server, under the app's prefix.
    assert_eq!(admitted(30).await.0, 10);
    let key = format!("{app}:steadfast:rate:fleet.quota");
    let ttl: i64 = redis.cli(&["PTTL", &key]).trim().parse().unwrap();
    assert!(
        (1..=1_100).contains(&ttl),
        "the key expires when the limit is full again: {ttl} ms"
    );
    let limited = quota().await.unwrap_err();
    assert!(
        limited.retry_after() > Duration::ZERO
            && limited.retry_after() <= Duration::from_millis(100),
        "{limited:?}"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        redis.cli(&["EXISTS", &key]).trim(),
        "0",
        "expired once back to full"
    );

    // Another node's use counts: its turns are in the server's state.
    let ahead_us = redis
        .cli(&["TIME"])
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse::<u64>()
        .unwrap()
        * 1_000_000
        + 5_000_000;
    redis.cli(&["SET", &key, &ahead_us.to_string(), "PX", "5000"]);
    assert_eq!(admitted(5).await.0, 0, "the fleet used the quota");
    redis.cli(&["DEL", &key]);

    // A sync function decides on the server too.
    let sync_admitted =
        tokio::task::spawn_blocking(|| (0..10).filter(|_| sync_quota().is_ok()).count())
            .await
            .unwrap();
    assert_eq!(sync_admitted, 4);
    assert_eq!(
        redis
            .cli(&["EXISTS", &format!("{app}:steadfast:rate:fleet.sync")])
            .trim(),
        "1"
    );
    assert_eq!(steadfast::health().status, HealthStatus::Healthy);

    // Redis killed: this process's share, no call held past the deadline (5 ms; a debug
    // build on a busy machine gets some slack), health says why.
    steadfast::fleet::set_deadline(steadfast::fleet::DEADLINE);
    redis.kill();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (ok, slowest) = admitted(20).await;
    assert_eq!(ok, 5, "rate / expected_nodes while Redis is down");
    assert!(
        slowest < Duration::from_millis(100),
        "a call waited {slowest:?} for Redis"
    );
    let health = steadfast::health();
    assert_eq!(health.status, HealthStatus::Degraded, "{health:?}");
    assert!(
        health
            .reasons
            .iter()
            .any(|r| r.starts_with(&format!("fleet: Redis at 127.0.0.1:{port} does not answer"))),
        "{health:?}"
    );

    // Back: within a second (one call a second asks again), limits are shared again.
    let _redis = Redis::start(port).expect("restarted");
    steadfast::fleet::set_deadline(Duration::from_millis(500));
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let _ = quota().await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(admitted(30).await.0, 10, "the whole rate again");
    assert_eq!(steadfast::health().status, HealthStatus::Healthy);

    // A breaker with `scope = "fleet", quorum = 2`: one other node's open breaker leaves
    // this one closed; two open it here too, until their markers expire.
    let redis = _redis;
    assert!(partner(false).await.is_ok());
    let key = format!("{app}:steadfast:breaker:fleet.partner");
    let expires = (server_ms(&redis) + 3_000).to_string();
    mark(&redis, &key, &expires, "node-a");
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert!(partner(false).await.is_ok(), "one node of a quorum of two");
    mark(&redis, &key, &expires, "node-b");
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let Err(PartnerError::Open(open)) = partner(false).await else {
        panic!("two nodes open it for all");
    };
    assert_eq!(open.name(), "fleet.partner");
    assert_eq!(
        steadfast::breaker("fleet.partner").unwrap().state(),
        steadfast::BreakerState::Open
    );
    // The markers expire (3 s after they were set): closed again.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert!(
        partner(false).await.is_ok(),
        "closed once the markers expired"
    );
    // Its own opening publishes its marker, with `open_for` to live.
    assert!(matches!(partner(true).await, Err(PartnerError::Down)));
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let members = redis.cli(&["ZRANGE", &key, "0", "-1"]);
    assert_eq!(members.lines().count(), 1, "this node's marker: {members}");
    assert!(
        members.trim().starts_with(&std::process::id().to_string()),
        "{members}"
    );

    // At once on its own open → half-open: a breaker its own failure opened turns
    // half-open while two other nodes report it open; its probe runs (and closes it), and
    // the fleet's view, read at that turn rather than at the next second, holds it open
    // within a few milliseconds.
    assert!(matches!(flaky(true).await, Err(PartnerError::Down)));
    let key = format!("{app}:steadfast:breaker:fleet.flaky");
    let expires = (server_ms(&redis) + 5_000).to_string();
    mark(&redis, &key, &expires, "node-a");
    mark(&redis, &key, &expires, "node-b");
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(flaky(false).await.is_ok(), "the half-open probe runs");
    let turned = Instant::now();
    let held = loop {
        if let Err(PartnerError::Open(_)) = flaky(false).await {
            break turned.elapsed();
        }
        assert!(
            turned.elapsed() < Duration::from_millis(250),
            "still not held open by the fleet {:?} after the half-open turn",
            turned.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    eprintln!("held open by the fleet {held:?} after the half-open probe");

    // A breaker joins the refresh at its function's first call, and reads the fleet's view
    // at once: held open a few milliseconds after that call, not at the next second.
    let key = format!("{app}:steadfast:breaker:fleet.late");
    let expires = (server_ms(&redis) + 5_000).to_string();
    mark(&redis, &key, &expires, "node-a");
    mark(&redis, &key, &expires, "node-b");
    // Its first call is decided locally, or by the fleet when the refresh it woke
    // finishes first (the thread can be descheduled between the two on a busy machine).
    let _ = late().await;
    let first = Instant::now();
    while !matches!(late().await, Err(PartnerError::Open(_))) {
        assert!(
            first.elapsed() < Duration::from_millis(250),
            "not held open by the fleet {:?} after its first call",
            first.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
