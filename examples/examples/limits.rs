//! The limits of an upload service, under load: a bounded upload queue and a converter
//! pool as `#[bulkhead]`s, the quota of the API they call as a `#[rate_limit]`.
//!
//! - `upload`: 3 uploads at once, 6 more may wait up to 150 ms for a slot; beyond that
//!   the caller is told at once (`QueueFull`), so a burst never piles up unbounded.
//! - `convert` (sync, on blocking threads): 2 conversions at once and no waiting: the pool
//!   finishes what it has and turns new work away (`Full`).
//! - `notify_api`: the API allows 20 calls a second with bursts of 5; a call waits up to
//!   100 ms for its turn, and `#[retry]` above waits out a longer `retry_after` without
//!   spending an attempt (at most as many waits as it has attempts, so that callers whose
//!   turns others keep taking are not held for ever).
//!
//! Run: `cargo run -p steadfast-examples --example limits`

use std::time::{Duration, Instant};

use steadfast::{BulkheadFull, FullReason, RateLimited, bulkhead, rate_limit, retry};

#[derive(Debug)]
enum UploadError {
    Busy(FullReason),
    Limited,
}

impl From<BulkheadFull> for UploadError {
    fn from(full: BulkheadFull) -> Self {
        UploadError::Busy(full.reason())
    }
}

impl From<RateLimited> for UploadError {
    fn from(_: RateLimited) -> Self {
        UploadError::Limited
    }
}

#[bulkhead(
    max_concurrent = 3,
    max_wait = "150ms",
    max_queue = 6,
    name = "uploads"
)]
async fn upload(file: u32) -> Result<u32, UploadError> {
    tokio::time::sleep(Duration::from_millis(100)).await; // the bytes going out
    Ok(file)
}

#[bulkhead(max_concurrent = 2, name = "converter")]
fn convert(doc: u32) -> Result<u32, UploadError> {
    std::thread::sleep(Duration::from_millis(50)); // the CPU-bound part
    Ok(doc)
}

#[retry(attempts = 3, delay = "10ms", max_delay = "1s")]
#[rate_limit(
    rate = 20,
    per = "1s",
    burst = 5,
    max_wait = "100ms",
    name = "api.quota"
)]
async fn notify_api(event: u32) -> Result<u32, UploadError> {
    Ok(event)
}

/// What a wave of calls came to.
#[derive(Default, Debug)]
struct Tally {
    ok: u32,
    full: u32,
    queue_full: u32,
    waited_out: u32,
    limited: u32,
}

impl Tally {
    fn add(&mut self, result: Result<u32, UploadError>) {
        match result {
            Ok(_) => self.ok += 1,
            Err(UploadError::Busy(FullReason::Full)) => self.full += 1,
            Err(UploadError::Busy(FullReason::QueueFull)) => self.queue_full += 1,
            Err(UploadError::Busy(FullReason::WaitedOut)) => self.waited_out += 1,
            Err(UploadError::Limited) => self.limited += 1,
        }
    }
}

#[tokio::main]
async fn main() {
    let start = Instant::now();

    println!("1. a burst of 20 uploads at once (3 at a time, 6 may wait 150 ms):");
    let waves: Vec<_> = (0..20).map(|i| tokio::spawn(upload(i))).collect();
    // While they run: how full is it?
    tokio::time::sleep(Duration::from_millis(20)).await;
    let uploads = steadfast::bulkhead("uploads").expect("called above");
    println!(
        "   20 ms in: {} uploading, {} queued (limit {})",
        uploads.in_use(),
        uploads.queued(),
        uploads.limit()
    );
    let mut tally = Tally::default();
    for w in waves {
        tally.add(w.await.expect("no panic"));
    }
    println!(
        "   {} uploaded, {} told at once the queue was full, {} waited 150 ms in vain",
        tally.ok, tally.queue_full, tally.waited_out
    );

    println!("2. 10 conversions from 10 threads at once (2 at a time, no waiting):");
    let mut tally = Tally::default();
    let results: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..10).map(|i| s.spawn(move || convert(i))).collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("no panic"))
            .collect()
    });
    for r in results {
        tally.add(r);
    }
    println!(
        "   {} converted, {} turned away at once (the pool finishes current work first)",
        tally.ok, tally.full
    );

    println!(
        "3. 40 API notifications at once (20/s, bursts of 5, a turn waited for up to 100 ms):"
    );
    let t0 = Instant::now();
    let calls: Vec<_> = (0..40).map(|i| tokio::spawn(notify_api(i))).collect();
    let mut tally = Tally::default();
    for c in calls {
        tally.add(c.await.expect("no panic"));
    }
    println!(
        "   {} sent in {:.2?} (5 at once, then one every 50 ms); {} limited after waiting out `retry_after` 3 times",
        tally.ok,
        t0.elapsed(),
        tally.limited
    );

    println!("\nwhat steadfast counted (steadfast::metrics::snapshot()):");
    for m in steadfast::metrics::snapshot() {
        if let Some(b) = &m.bulkhead {
            println!(
                "   bulkhead {:<10} admitted {:>3}, full {:>2}, queue full {:>2}, waited out {:>2}; now {} in use, {} queued",
                b.name,
                b.admitted,
                b.rejected_full,
                b.rejected_queue_full,
                b.rejected_waited_out,
                b.in_use,
                b.queued
            );
        }
        if let Some(r) = &m.rate_limit {
            println!(
                "   limiter  {:<10} {} per {:?}: admitted {:>3}, limited {:>2}, {} available now",
                r.name, r.rate, r.per, r.admitted, r.limited, r.available
            );
        }
        if let Some(retry) = m.retry {
            println!(
                "   retry of {}: {} waits for the limiter (no attempt spent on them), {} retries",
                m.name, retry.gate_waits, retry.retries
            );
        }
    }
    println!("\nhealth: {}", steadfast::health().to_json());
    println!("done in {:.2?}", start.elapsed());
}
