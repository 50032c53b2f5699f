use std::time::Duration;

use steadfast::{CircuitOpen, Elapsed, circuit_breaker, retry, timeout};

#[derive(Debug, Clone)]
pub struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

impl From<Elapsed> for Error {
    fn from(_: Elapsed) -> Self {
        Error
    }
}

fn transient(_: &Error) -> bool {
    true
}

const DEADLINE: Duration = Duration::from_millis(1500);

#[retry(
    attempts = 5,
    delay = "10ms",
    backoff = "exponential",
    multiplier = 1.5,
    max_delay = "1s",
    jitter = "decorrelated",
    max_elapsed = "10s",
    retry_if = transient
)]
fn every_key(name: String, (a, b): (u8, u8), mut scratch: Vec<u8>) -> Result<usize, Error> {
    scratch.push(a + b);
    Ok(name.len() + scratch.len())
}

#[retry(backoff = "linear", jitter = "equal", retry_if = |e: &Error| matches!(e, Error))]
async fn closure_predicate(id: u64, tags: impl IntoIterator<Item = String> + Clone) -> Result<u64, Error> {
    Ok(id + tags.into_iter().count() as u64)
}

#[retry(backoff = "constant", jitter = "none", delay = "1ms")]
fn generic<T: Clone + std::fmt::Debug>(value: T, label: &str) -> Result<String, Error> {
    Ok(format!("{label}{value:?}"))
}

#[timeout(DEADLINE)]
async fn expression_deadline() -> Result<(), Error> {
    Ok(())
}

#[timeout("2s", detach)]
fn detached(owned: String, n: u32) -> Result<String, Error> {
    Ok(format!("{owned}{n}"))
}

#[timeout("5s")]
#[retry(attempts = 3)]
#[circuit_breaker(failure_threshold = 3)]
async fn all_three(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[circuit_breaker]
#[timeout("1s")]
#[retry]
async fn all_three_other_order(x: &str) -> Result<usize, Error> {
    Ok(x.len())
}

#[retry(attempts = 2)]
#[timeout("2s", detach)]
#[circuit_breaker]
fn sync_stack(x: u32) -> Result<u32, Error> {
    Ok(x)
}

fn io_retry() -> std::io::Result<()> {
    #[retry]
    #[timeout("1s")]
    async fn inner() -> std::io::Result<()> {
        Ok(())
    }
    let _ = inner();
    Ok(())
}

pub struct Client {
    seen: u32,
}

impl Client {
    #[retry]
    pub fn by_ref(&self) -> Result<u32, Error> {
        Ok(self.seen)
    }

    #[retry]
    pub fn by_mut(&mut self, step: &mut u32) -> Result<u32, Error> {
        *step += 1;
        self.seen += *step;
        Ok(self.seen)
    }

    #[retry]
    #[timeout("1s")]
    pub async fn async_by_mut(&mut self) -> Result<u32, Error> {
        self.seen += 1;
        Ok(self.seen)
    }
}

trait Quotes {
    async fn quote(&self, symbol: String) -> Result<f64, Error>;
}

impl Quotes for Client {
    #[retry(attempts = 2)]
    #[timeout("1s")]
    async fn quote(&self, symbol: String) -> Result<f64, Error> {
        Ok(symbol.len() as f64)
    }
}

#[async_trait::async_trait]
trait Store {
    async fn get(&self, key: String) -> Result<String, Error>;
}

#[async_trait::async_trait]
impl Store for Client {
    #[retry(attempts = 2)]
    #[circuit_breaker]
    #[timeout("1s")]
    async fn get(&self, key: String) -> Result<String, Error> {
        Ok(key)
    }
}

fn require_send<T: Send>(_: T) {}

fn main() {
    let _ = every_key("n".into(), (1, 2), vec![]);
    require_send(closure_predicate(1, vec!["a".to_owned()]));
    let _ = generic(1u8, "x");
    require_send(expression_deadline());
    let _ = detached("a".into(), 1);
    require_send(all_three(1));
    require_send(all_three_other_order("x"));
    let _ = sync_stack(1);
    let _ = io_retry();
    let mut client = Client { seen: 0 };
    let _ = client.by_ref();
    let _ = client.by_mut(&mut 0);
    require_send(client.async_by_mut());
    require_send(client.quote("x".into()));
    require_send(client.get("k".into()));
}
