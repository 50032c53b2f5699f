//! An attribute never makes a `Send` future non-`Send`: a function whose error type is not
//! `Send` (`Box<dyn Error>`) has a `Send` future without the attributes, so it must keep
//! one under every attribute and every stacking of them (the result of an attempt is not
//! held across `#[retry]`'s wait).

use std::error::Error;
use std::future::Future;

use steadfast::{circuit_breaker, monitored, retry, timeout};

type Fallible<T> = Result<T, Box<dyn Error>>;

async fn fetch(n: u32) -> Fallible<String> {
    tokio::task::yield_now().await;
    if n == 0 { Err("zero".into()) } else { Ok(n.to_string()) }
}

async fn bare(n: u32) -> Fallible<String> {
    fetch(n).await
}

#[retry(attempts = 3, delay = "1ms")]
async fn retried(n: u32) -> Fallible<String> {
    fetch(n).await
}

#[circuit_breaker]
async fn guarded(n: u32) -> Fallible<String> {
    fetch(n).await
}

#[timeout("1s")]
async fn bounded(n: u32) -> Fallible<String> {
    fetch(n).await
}

#[monitored]
async fn watched(n: u32) -> Fallible<String> {
    fetch(n).await
}

#[retry(attempts = 3, delay = "1ms")]
#[circuit_breaker]
async fn retried_guarded(n: u32) -> Fallible<String> {
    fetch(n).await
}

#[retry(attempts = 3, delay = "1ms")]
#[timeout("1s")]
async fn retried_bounded(n: u32) -> Fallible<String> {
    fetch(n).await
}

#[monitored]
#[retry(attempts = 3, delay = "1ms")]
#[circuit_breaker]
#[timeout("1s")]
async fn everything(n: u32) -> Fallible<String> {
    fetch(n).await
}

#[circuit_breaker]
#[retry(attempts = 3, delay = "1ms")]
#[monitored]
async fn everything_reversed(n: u32) -> Fallible<String> {
    fetch(n).await
}

fn send<F: Future + Send>(f: F) -> F {
    f
}

fn main() {
    let _ = send(bare(1));
    let _ = send(retried(1));
    let _ = send(guarded(1));
    let _ = send(bounded(1));
    let _ = send(watched(1));
    let _ = send(retried_guarded(1));
    let _ = send(retried_bounded(1));
    let _ = send(everything(1));
    let _ = send(everything_reversed(1));
}
