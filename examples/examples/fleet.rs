//! One circuit breaker per machine (`key = host`) over a fleet where some machines fail,
//! configured as operators write it: 3 failures within 60 s open a machine's breaker, and
//! 60 s later one probe decides. Five simulated minutes run on paused time, in moments.
//!
//! Run: `cargo run -p steadfast-examples --example fleet`

use std::time::Duration;

use steadfast::{BreakerState, CircuitOpen, circuit_breaker};
use tokio::time::Instant;

const HOSTS: [&str; 5] = ["db-1", "db-2", "cache-1", "api-1", "api-2"];

#[derive(Debug)]
enum PingError {
    Unreachable,
    Skipped(CircuitOpen),
}

impl From<CircuitOpen> for PingError {
    fn from(e: CircuitOpen) -> Self {
        PingError::Skipped(e)
    }
}

/// Which machines are down at `minute` of the simulation: db-2 for the first three
/// minutes; api-1 loses one ping in four throughout, api-2 one in two.
fn is_down(host: &str, minute: u64, ping: u64) -> bool {
    match host {
        "db-2" => minute < 3,
        "api-1" => ping.is_multiple_of(4),
        "api-2" => ping.is_multiple_of(2),
        _ => false,
    }
}

#[circuit_breaker(key = host, failure_threshold = 3, window = "60s", open_for = "60s")]
async fn ping(host: &str, minute: u64, n: u64) -> Result<Duration, PingError> {
    tokio::time::sleep(Duration::from_millis(5)).await; // the round trip
    if is_down(host, minute, n) {
        Err(PingError::Unreachable)
    } else {
        Ok(Duration::from_millis(5))
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    println!(
        "pinging {} machines every 10 s for 5 minutes (simulated)\n",
        HOSTS.len()
    );
    println!("  time   {}", HOSTS.map(|h| format!("{h:<10}")).join(""));
    let start = Instant::now();
    let mut skipped = 0;
    let mut first_skip = None;
    let mut pinged = 0;
    for n in 0..30u64 {
        let minute = start.elapsed().as_secs() / 60;
        for host in HOSTS {
            match ping(host, minute, n).await {
                Ok(_) | Err(PingError::Unreachable) => pinged += 1,
                Err(PingError::Skipped(open)) => {
                    skipped += 1;
                    first_skip.get_or_insert(open.to_string());
                }
            }
        }
        if n % 3 == 2 {
            let states = HOSTS.map(|h| {
                let state = steadfast::breaker(&format!("fleet::ping[{h:?}]"))
                    .map_or(BreakerState::Closed, |b| b.state());
                format!("{:<10}", state.to_string())
            });
            let t = start.elapsed().as_secs();
            println!("  {:>2}:{:02}  {}", t / 60, t % 60, states.join(""));
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    println!("\n{pinged} pings sent, {skipped} skipped because that machine's breaker was open");
    if let Some(message) = first_skip {
        println!("a skipped ping returns at once: \"{message}\"");
    }
    println!("db-2 was down until 3:00; its breaker closed on the first probe after that.");
    println!("api-1 loses 1 ping in 4: never 3 failures within 60 s, so it stays in service.");
    println!(
        "api-2 loses 1 ping in 2: 3 failures within 60 s, so it is taken out, probed every minute."
    );
}
