// `#[supervised]` on the shapes it takes, stacked with the others, without a warning.
#![deny(warnings, clippy::all)]

use std::sync::Arc;

use steadfast::{monitored, retry, supervised};

#[supervised]
async fn no_arguments() {}

#[supervised(restart = "permanent", delay = "1s", max_delay = "1m", multiplier = 1.5, jitter = "equal", max_restarts = 3, within = "10m", reset_after = "5m", shutdown = "30s", critical, name = "shapes.all_keys")]
pub async fn all_keys(url: String, retries: u32) -> Result<(), std::io::Error> {
    let _ = (url, retries);
    Ok(())
}

#[supervised]
fn generic<T: Clone + Send + std::fmt::Debug + 'static>(item: T) -> Result<(), String> {
    Err(format!("{item:?}"))
}

#[supervised]
#[monitored(name = "shapes.consumer", drain = "reject")]
#[retry(attempts = 2)]
async fn consumer(queue: Arc<Vec<u32>>) -> Result<(), std::io::Error> {
    let _ = queue.len();
    Ok(())
}

#[monitored(drain = "cancel")]
async fn cancellable(mut n: u32) -> anyhow::Result<u32> {
    n += 1;
    Ok(n)
}

#[monitored(drain = "reject")]
fn sync_drained((a, b): (u32, u32)) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    Ok(a + b)
}

struct Service {
    name: String,
}

impl Service {
    #[supervised]
    async fn watch(self: Arc<Self>) -> Result<(), String> {
        Err(self.name.clone())
    }

    #[supervised]
    fn by_value(self) -> Result<(), String>
    where
        Self: Clone,
    {
        Err(self.name)
    }
}

impl Clone for Service {
    fn clone(&self) -> Self {
        Service { name: self.name.clone() }
    }
}

fn main() {
    let _ = (no_arguments_supervised, all_keys_supervised, generic_supervised::<u32>, consumer_supervised);
    let _ = (cancellable(1), sync_drained((1, 2)));
    let _ = (Service::watch_supervised, Service::by_value_supervised);
}
