//! A quote service in front of a flaky upstream, with `/metrics` and `/health`.
//!
//! Run: `cargo run -p steadfast-examples --example service`
//!
//! It starts the upstream and the service on loopback, then plays a schedule — the
//! upstream healthy, failing, stalling, healthy again — while it asks the service for a
//! quote every 200 ms, and prints each second what a person watching would want: the
//! upstream's mode, what the last request got, the breaker's state and the health.
//!
//! `-- --serve SECS` keeps serving for that long afterwards (for a Prometheus to scrape);
//! `-- --port PORT` (or the environment variable `PORT`) picks the service's port (default
//! 3000; 0 for any free one); the address is printed at start.
//!
//! Settings can be changed without recompiling: `STEADFAST_BREAKER_UPSTREAM_OPEN_FOR=5s`
//! (any `STEADFAST_<KIND>_<NAME>_<KEY>`, see `steadfast::config`) is applied at start-up
//! and printed; a variable that names no setting stops it with the reason.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use steadfast_examples::service::{Mode, http_get, start_service, start_upstream};

fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Overrides from the environment, checked as a whole before anything starts.
    match steadfast::config::apply_env("STEADFAST") {
        Ok(applied) if !applied.is_empty() => {
            println!("settings from the environment:");
            for change in applied.changes() {
                println!("  {change}");
            }
            println!();
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
    let upstream = start_upstream().await?;
    let port = arg("--port")
        .or_else(|| std::env::var("PORT").ok()?.parse().ok())
        .unwrap_or(3000);
    let Ok(port) = u16::try_from(port) else {
        eprintln!("--port {port} is not a port (0 to 65535)");
        std::process::exit(2);
    };
    let service = match start_service(SocketAddr::from(([127, 0, 0, 1], port)), upstream.addr).await
    {
        Ok(addr) => addr,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "port {port} is taken by another program: pass `-- --port 0` for any free port, or `--port N` / PORT=N"
            );
            std::process::exit(1);
        }
        Err(e) => return Err(e),
    };
    println!("upstream  http://{}/quote/ACME", upstream.addr);
    println!("service   http://{service}/quote/ACME");
    println!("          http://{service}/metrics");
    println!("          http://{service}/health");
    println!("          http://{service}/status");
    println!();
    println!(
        "  time  upstream   last request                                        breaker    health"
    );

    let schedule = [
        (Duration::from_secs(0), Mode::Healthy),
        (Duration::from_secs(3), Mode::Failing),
        (Duration::from_secs(7), Mode::Stalling),
        (Duration::from_secs(9), Mode::Healthy),
    ];
    let length = Duration::from_secs(14);
    let start = Instant::now();
    let mut last = String::new();
    let mut next_print = Duration::ZERO;
    while start.elapsed() < length {
        let now = start.elapsed();
        if let Some((_, mode)) = schedule.iter().rev().find(|(at, _)| *at <= now) {
            upstream.set(*mode);
        }
        last = match http_get(service, "/quote/ACME").await {
            Ok((status, body)) => format!("{status} {body}"),
            Err(e) => format!("error {e}"),
        };
        if now >= next_print {
            next_print += Duration::from_secs(1);
            let breaker =
                steadfast::breaker("upstream").map_or("-".to_owned(), |b| b.state().to_string());
            let health = steadfast::health();
            println!(
                "{:>5}s  {:<10} {:<52} {:<10} {}",
                now.as_secs(),
                format!("{:?}", upstream.mode()).to_lowercase(),
                truncate(&last, 52),
                breaker,
                health.status.as_str(),
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = last;

    println!("\n/health: {}", steadfast::health().to_json());
    println!("\n/metrics (excerpt):");
    for line in steadfast::metrics::prometheus().lines() {
        if !line.starts_with('#') && !line.contains("_bucket") {
            println!("  {line}");
        }
    }
    if let Some(secs) = arg("--serve") {
        println!("\nserving for {secs} s more on http://{service}");
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > n {
        line.chars().take(n - 1).chain(['…']).collect()
    } else {
        line.to_owned()
    }
}
