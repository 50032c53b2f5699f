//! `#[monitored]` per call, at 1 and 2 threads on one function, against a bare call and
//! against `metrics` handles with the Prometheus recorder doing the same counting and
//! timing by hand — in one process and one run.
//!
//! `cargo bench -p steadfast-bench --features peers --bench monitored` (release, fat LTO).
//! Each figure is the median of 9 rounds of 1,000,000 calls per thread, with min and max.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::Instant;

use steadfast::monitored;

#[inline(never)]
fn bare(x: u64) -> Result<u64, String> {
    if black_box(x) == u64::MAX {
        Err("max".into())
    } else {
        Ok(x + 1)
    }
}

#[inline(never)]
#[monitored(name = "bench.monitored")]
fn monitored_call(x: u64) -> Result<u64, String> {
    if black_box(x) == u64::MAX {
        Err("max".into())
    } else {
        Ok(x + 1)
    }
}

/// What a user writes today with the `metrics` crate: the same figures as `#[monitored]`
/// (calls, errors, in flight, latency), timed by hand with `Instant`.
#[inline(never)]
fn metrics_by_hand(x: u64) -> Result<u64, String> {
    metrics::counter!("calls_total", "function" => "bench.by_hand").increment(1);
    let in_flight = metrics::gauge!("in_flight", "function" => "bench.by_hand");
    in_flight.increment(1.0);
    let start = Instant::now();
    let out = bare(x);
    metrics::histogram!("call_duration_seconds", "function" => "bench.by_hand")
        .record(start.elapsed().as_secs_f64());
    if out.is_err() {
        metrics::counter!("errors_total", "function" => "bench.by_hand").increment(1);
    }
    in_flight.decrement(1.0);
    out
}

const CALLS: u64 = 1_000_000;
const ROUNDS: usize = 9;

fn round(threads: usize, f: fn(u64) -> Result<u64, String>) -> f64 {
    let barrier = Barrier::new(threads);
    let per_thread: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..CALLS {
                        let _ = black_box(f(black_box(i)));
                    }
                    start.elapsed().as_nanos() as f64 / CALLS as f64
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .collect()
    });
    per_thread.iter().sum::<f64>() / threads as f64
}

fn measure(threads: usize, f: fn(u64) -> Result<u64, String>) -> (f64, f64, f64) {
    round(threads, f);
    let mut samples: Vec<f64> = (0..ROUNDS).map(|_| round(threads, f)).collect();
    samples.sort_by(f64::total_cmp);
    (samples[ROUNDS / 2], samples[0], samples[ROUNDS - 1])
}

fn main() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).expect("the only recorder");

    println!("| path | threads | median ns/call | min | max |");
    println!("|---|---|---|---|---|");
    for threads in [1, 2] {
        for (name, f) in [
            ("bare call", bare as fn(u64) -> Result<u64, String>),
            ("#[monitored]", monitored_call),
            (
                "metrics handles + Prometheus recorder, timed by hand",
                metrics_by_hand,
            ),
        ] {
            let (median, min, max) = measure(threads, f);
            println!("| {name} | {threads} | {median:.2} | {min:.2} | {max:.2} |");
        }
    }
    // Both really recorded.
    let ours = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "bench.monitored")
        .expect("recorded");
    assert!(ours.calls > 0 && ours.in_flight == 0);
    assert!(handle.render().contains("bench.by_hand"));
}
