//! N worker processes sharing one API quota through Redis: `#[rate_limit(…, scope =
//! "fleet")]` (feature `redis`).
//!
//! ```sh
//! cargo run -p steadfast-examples --example fleet_limits                  # 3 workers, 3 s, its own redis-server
//! cargo run -p steadfast-examples --example fleet_limits -- --workers 5 --seconds 10 --redis redis://127.0.0.1:6379
//! ```
//!
//! Each worker calls the API as fast as it can; the quota is 50 calls a second for the
//! whole fleet (burst 50). Every second each worker prints what it was admitted, and the
//! coordinator prints the aggregate: about 50 a second however many workers there are.
//! Without `--redis` it starts Debian's `redis-server` on a free loopback port and stops it
//! at the end.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use steadfast::{RateLimited, rate_limit};

/// The fleet's quota: calls per second, and the burst from idle.
const RATE: u32 = 50;

/// The API call every worker makes. If Redis is unreachable, each worker keeps a third of
/// the quota (`expected_nodes = 3`) until it answers again.
#[rate_limit(rate = RATE, per = "1s", scope = "fleet", expected_nodes = 3, name = "api.quota")]
async fn call_api() -> Result<(), RateLimited> {
    Ok(())
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// A worker: calls for `seconds`, printing `second N: admitted K` lines and a last
/// `total K shared|local` line.
async fn worker(id: u32, url: &str, seconds: u64) {
    // Loopback on a shared VM answers in about a millisecond but now and then in ten: a
    // deadline of 50 ms keeps every decision shared (5 ms, the default, suits a quiet LAN).
    steadfast::fleet::set_deadline(Duration::from_millis(50));
    if let Err(e) = steadfast::fleet::connect(url, "fleet-limits-example").await {
        eprintln!("worker {id}: {e}");
        std::process::exit(2);
    }
    let start = Instant::now();
    let mut total = 0u64;
    let mut slowest = Duration::ZERO;
    let mut calls = 0u64;
    for second in 0..seconds {
        let mut admitted = 0u64;
        let end = start + Duration::from_secs(second + 1);
        while Instant::now() < end {
            let asked = Instant::now();
            let answer = call_api().await;
            slowest = slowest.max(asked.elapsed());
            calls += 1;
            match answer {
                Ok(()) => admitted += 1,
                // Not yet: wait the turn out (a real worker would do other work).
                Err(limited) => {
                    tokio::time::sleep(limited.retry_after().min(end - Instant::now())).await
                }
            }
        }
        total += admitted;
        println!("worker {id} second {second}: admitted {admitted}");
    }
    let shared = steadfast::health()
        .reasons
        .iter()
        .all(|r| !r.starts_with("fleet:"));
    eprintln!("worker {id}: {calls} decisions, the slowest {slowest:?}");
    if !shared {
        for reason in steadfast::health().reasons {
            eprintln!("worker {id}: {reason}");
        }
    }
    println!(
        "worker {id} total {total} {}",
        if shared { "shared" } else { "local" }
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(6399)
}

/// Debian's redis-server on a free loopback port, stopped when dropped.
struct OwnRedis(Child);

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis() -> Option<(OwnRedis, String)> {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let redis = OwnRedis(child);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((redis, format!("redis://127.0.0.1:{port}")));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

#[tokio::main]
async fn main() {
    let seconds: u64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(3);
    if let Some(id) = arg("--worker") {
        let url = arg("--redis").unwrap_or_default();
        worker(id.parse().unwrap_or(0), &url, seconds).await;
        return;
    }
    let workers: u32 = arg("--workers").and_then(|s| s.parse().ok()).unwrap_or(3);
    let (_own, url) = match arg("--redis") {
        Some(url) => (None, url),
        None => match start_redis() {
            Some((redis, url)) => (Some(redis), url),
            None => {
                eprintln!(
                    "no redis-server to start (apt-get install redis-server), and no --redis URL"
                );
                std::process::exit(2);
            }
        },
    };
    println!(
        "{workers} workers sharing {RATE} calls/s (burst {RATE}) through {url} for {seconds} s"
    );
    let exe = std::env::current_exe().expect("this program");
    let started = Instant::now();
    let children: Vec<Child> = (0..workers)
        .map(|id| {
            Command::new(&exe)
                .args([
                    "--worker",
                    &id.to_string(),
                    "--redis",
                    &url,
                    "--seconds",
                    &seconds.to_string(),
                ])
                .stdout(Stdio::piped())
                .spawn()
                .expect("a worker")
        })
        .collect();
    let mut per_second = vec![0u64; usize::try_from(seconds).unwrap_or(0)];
    let mut total = 0u64;
    let mut all_shared = true;
    for mut child in children {
        let out = child.stdout.take().expect("piped");
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("  {line}");
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["worker", _, "second", s, "admitted", n] => {
                    let second = s.trim_end_matches(':').parse::<usize>().ok();
                    let slot = second.and_then(|s| per_second.get_mut(s));
                    if let (Some(slot), Ok(n)) = (slot, n.parse::<u64>()) {
                        *slot += n;
                    }
                }
                ["worker", _, "total", n, how] => {
                    total += n.parse::<u64>().unwrap_or(0);
                    all_shared &= *how == "shared";
                }
                _ => {}
            }
        }
        let _ = child.wait();
    }
    let elapsed = started.elapsed();
    for (s, n) in per_second.iter().enumerate() {
        println!("second {s}: {n} admitted across the fleet");
    }
    // GCRA admits at most the burst plus the rate over any interval.
    let bound = u64::from(RATE) + (u64::from(RATE) as f64 * elapsed.as_secs_f64()).ceil() as u64;
    println!(
        "aggregate admitted {total} of at most {bound} in {:.2} s ({})",
        elapsed.as_secs_f64(),
        if all_shared {
            "every decision shared"
        } else {
            "some workers decided locally"
        }
    );
}
