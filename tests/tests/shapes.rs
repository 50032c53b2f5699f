//! Every function shape `#[circuit_breaker]` must keep working: the signature is untouched
//! and `return` / `?` in the body mean what they meant.

use std::collections::HashMap;
use std::fmt::Display;
use std::io;

use steadfast::{CircuitOpen, circuit_breaker};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, PartialEq)]
enum Error {
    Parse(String),
    Open,
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error::Open
    }
}

impl From<std::num::ParseIntError> for Error {
    fn from(e: std::num::ParseIntError) -> Self {
        Error::Parse(e.to_string())
    }
}

/// Doc comments stay.
#[circuit_breaker]
#[inline]
pub fn question_mark_and_return(input: &str) -> Result<i64, Error> {
    if input.is_empty() {
        return Ok(0);
    }
    let n: i64 = input.parse()?; // converts ParseIntError with From, as before
    Ok(n * 2)
}

#[test]
fn return_and_question_mark_keep_their_meaning() {
    assert_eq!(question_mark_and_return(""), Ok(0));
    assert_eq!(question_mark_and_return("21"), Ok(42));
    assert!(matches!(
        question_mark_and_return("x"),
        Err(Error::Parse(_))
    ));
}

#[circuit_breaker]
fn io_alias(path: &str) -> io::Result<usize> {
    if path.is_empty() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "empty path"));
    }
    Ok(path.len())
}

#[circuit_breaker]
fn boxed_error(n: u8) -> Result<u8, BoxError> {
    if n == 0 {
        Err("zero")?;
    }
    Ok(n)
}

#[test]
fn result_aliases_and_boxed_errors() {
    assert_eq!(io_alias("abc").unwrap(), 3);
    assert_eq!(io_alias("").unwrap_err().kind(), io::ErrorKind::NotFound);
    assert_eq!(boxed_error(3).unwrap(), 3);
    assert_eq!(boxed_error(0).unwrap_err().to_string(), "zero");
}

#[circuit_breaker]
fn generic<T, K>(items: &[T], key: K) -> Result<Vec<String>, Error>
where
    T: Display,
    K: AsRef<str>,
{
    Ok(items
        .iter()
        .map(|i| format!("{}{i}", key.as_ref()))
        .collect())
}

#[circuit_breaker]
fn impl_trait_arg(items: impl IntoIterator<Item = u32>) -> Result<u32, Error> {
    Ok(items.into_iter().sum())
}

#[circuit_breaker]
fn lifetimes<'a>(map: &'a HashMap<String, String>, key: &str) -> Result<&'a str, Error> {
    map.get(key)
        .map(String::as_str)
        .ok_or(Error::Parse(key.to_owned()))
}

#[circuit_breaker]
fn patterns((a, b): (u32, u32), Wrapper(c): Wrapper, mut d: u32) -> Result<u32, Error> {
    d += 1;
    Ok(a + b + c + d)
}

struct Wrapper(u32);

#[test]
fn generics_impl_trait_lifetimes_patterns() {
    assert_eq!(generic(&[1, 2], "#").unwrap(), vec!["#1", "#2"]);
    assert_eq!(impl_trait_arg([1, 2, 3]).unwrap(), 6);
    let map = HashMap::from([("k".to_owned(), "v".to_owned())]);
    assert_eq!(lifetimes(&map, "k").unwrap(), "v");
    assert_eq!(patterns((1, 2), Wrapper(3), 4).unwrap(), 11);
}

struct Account {
    balance: i64,
    history: Vec<i64>,
}

impl Account {
    #[circuit_breaker]
    fn balance(&self) -> Result<i64, Error> {
        Ok(self.balance)
    }

    #[circuit_breaker]
    fn deposit(&mut self, amount: i64) -> Result<&mut Vec<i64>, Error> {
        self.balance += amount;
        self.history.push(amount);
        Ok(&mut self.history)
    }

    #[circuit_breaker]
    fn close(self) -> Result<Vec<i64>, Error> {
        Ok(self.history)
    }

    #[circuit_breaker]
    async fn audit(&self, extra: i64) -> Result<i64, Error> {
        tokio::task::yield_now().await;
        Ok(self.balance + extra)
    }

    #[circuit_breaker]
    async fn audit_mut(&mut self) -> Result<usize, Error> {
        tokio::task::yield_now().await;
        self.history.clear();
        Ok(self.history.len())
    }
}

#[tokio::test]
async fn methods_with_every_receiver() {
    let mut account = Account {
        balance: 10,
        history: vec![],
    };
    assert_eq!(account.balance().unwrap(), 10);
    account.deposit(5).unwrap().push(0);
    assert_eq!(account.audit(1).await.unwrap(), 16);
    assert_eq!(account.close().unwrap(), vec![5, 0]);
    let mut other = Account {
        balance: 0,
        history: vec![1],
    };
    assert_eq!(other.audit_mut().await.unwrap(), 0);
}

trait Quotes {
    async fn quote(&self, symbol: &str) -> Result<f64, Error>;
    fn spread(&self) -> Result<f64, Error>;
}

struct Exchange;

impl Quotes for Exchange {
    #[circuit_breaker(name = "exchange.quote")]
    async fn quote(&self, symbol: &str) -> Result<f64, Error> {
        Ok(symbol.len() as f64)
    }

    #[circuit_breaker]
    fn spread(&self) -> Result<f64, Error> {
        Ok(0.5)
    }
}

#[async_trait::async_trait]
trait Store {
    async fn get(&self, key: &str) -> Result<String, Error>;
}

struct Memory;

#[async_trait::async_trait]
impl Store for Memory {
    #[circuit_breaker(name = "memory.get", failure_threshold = 1)]
    async fn get(&self, key: &str) -> Result<String, Error> {
        if key.is_empty() {
            return Err(Error::Parse("empty".into()));
        }
        Ok(key.to_uppercase())
    }
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::test]
async fn trait_methods_native_and_async_trait() {
    assert_eq!(Exchange.quote("ACME").await.unwrap(), 4.0);
    assert_eq!(Exchange.spread().unwrap(), 0.5);
    assert_eq!(assert_send(Memory.get("a")).await.unwrap(), "A");
    assert!(matches!(Memory.get("").await, Err(Error::Parse(_))));
    assert_eq!(
        Memory.get("a").await,
        Err(Error::Open),
        "the async_trait method has its breaker"
    );
}

#[circuit_breaker]
async fn send_future(x: u32) -> Result<u32, Error> {
    tokio::task::yield_now().await;
    Ok(x)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_stay_send() {
    let handle = tokio::spawn(send_future(3));
    assert_eq!(handle.await.unwrap().unwrap(), 3);
}

#[circuit_breaker]
fn returns_impl_trait(n: u32) -> Result<impl Iterator<Item = u32>, Error> {
    Ok(0..n)
}

#[test]
fn impl_trait_in_the_return_type() {
    assert_eq!(returns_impl_trait(3).unwrap().sum::<u32>(), 3);
}

#[steadfast::circuit_breaker(name = "by-path")]
fn by_path() -> Result<(), Error> {
    Ok(())
}

#[test]
fn the_attribute_by_its_full_path() {
    by_path().unwrap();
    assert!(steadfast::breaker("by-path").is_some());
}

#[async_trait::async_trait]
trait Counter {
    async fn bump(&mut self, log: &mut Vec<u32>, by: u32) -> Result<u32, Error>;
    async fn tag(&mut self, label: String) -> Result<String, Error>;
}

struct Flaky {
    calls: u32,
}

#[async_trait::async_trait]
impl Counter for Flaky {
    /// `&mut self` and a `&mut` argument are borrowed again for each attempt.
    #[steadfast::retry(attempts = 3, delay = "1ms", jitter = "none")]
    async fn bump(&mut self, log: &mut Vec<u32>, by: u32) -> Result<u32, Error> {
        self.calls += by;
        log.push(self.calls);
        tokio::task::yield_now().await;
        if self.calls < 3 {
            Err(Error::Parse(format!("only {}", self.calls)))
        } else {
            Ok(self.calls)
        }
    }

    /// An argument taken by value and consumed by the body: each attempt has its own copy.
    #[steadfast::retry(attempts = 3, delay = "1ms", jitter = "none")]
    async fn tag(&mut self, label: String) -> Result<String, Error> {
        self.calls += 1;
        let mine: String = label; // moved: the next attempt needs a fresh copy
        tokio::task::yield_now().await;
        if self.calls < 3 {
            Err(Error::Parse(mine))
        } else {
            Ok(format!("{mine} {}", self.calls))
        }
    }
}

#[tokio::test(start_paused = true)]
async fn async_trait_retry_with_mutable_borrows() {
    let mut flaky = Flaky { calls: 0 };
    let mut log = Vec::new();
    assert_eq!(flaky.bump(&mut log, 1).await, Ok(3));
    assert_eq!(
        log,
        [1, 2, 3],
        "every attempt saw the previous one's changes"
    );
    assert_eq!(flaky.calls, 3);
}

#[tokio::test(start_paused = true)]
async fn async_trait_retry_with_an_argument_consumed_by_value() {
    let mut flaky = Flaky { calls: 0 };
    assert_eq!(flaky.tag("x".to_string()).await, Ok("x 3".to_string()));
}
