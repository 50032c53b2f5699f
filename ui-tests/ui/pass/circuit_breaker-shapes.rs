use std::fmt::Debug;

use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

pub struct Client {
    hits: u32,
}

impl Client {
    #[circuit_breaker]
    pub fn by_ref(&self) -> Result<u32, Error> {
        Ok(self.hits)
    }

    #[circuit_breaker]
    pub fn by_mut(&mut self) -> Result<&mut u32, Error> {
        self.hits += 1;
        Ok(&mut self.hits)
    }

    #[circuit_breaker]
    pub fn by_value(self) -> Result<u32, Error> {
        Ok(self.hits)
    }

    #[circuit_breaker]
    pub async fn async_by_ref(&self) -> Result<u32, Error> {
        Ok(self.hits)
    }

    #[circuit_breaker(key = self.hits)]
    pub fn keyed_on_self(&self) -> Result<u32, Error> {
        Ok(self.hits)
    }
}

#[circuit_breaker]
fn generic<'a, T: Debug + ?Sized, const N: usize>(items: &'a [&'a T; N]) -> Result<&'a T, Error>
where
    T: PartialEq,
{
    items.first().copied().ok_or(Error)
}

#[circuit_breaker]
fn impl_trait(it: impl Iterator<Item = u8>, _f: impl Fn(u8) -> u8) -> Result<u32, Error> {
    Ok(it.map(u32::from).sum())
}

#[circuit_breaker]
fn patterns((a, b): (u8, u8), [c, ..]: [u8; 3], _: u8) -> Result<u8, Error> {
    Ok(a + b + c)
}

#[circuit_breaker(key = host)]
fn keyed_str(host: &str) -> Result<(), Error> {
    let _ = host;
    Ok(())
}

#[circuit_breaker(key = (host.clone(), port), max_keys = 10)]
fn keyed_tuple(host: String, port: u16) -> Result<(), Error> {
    let _ = (host, port);
    Ok(())
}

#[circuit_breaker(key = url.split('/').next().unwrap_or(""))]
fn keyed_borrowed_expression(url: &str) -> Result<(), Error> {
    let _ = url;
    Ok(())
}

trait Quotes {
    async fn quote(&self) -> Result<f64, Error>;

    #[circuit_breaker]
    fn default_body(&self) -> Result<f64, Error> {
        Ok(1.0)
    }
}

impl Quotes for Client {
    #[circuit_breaker]
    async fn quote(&self) -> Result<f64, Error> {
        Ok(f64::from(self.hits))
    }
}

#[async_trait::async_trait]
pub trait Store {
    async fn get(&self, key: &str) -> Result<String, Error>;
}

#[async_trait::async_trait]
impl Store for Client {
    #[circuit_breaker(key = key)]
    async fn get(&self, key: &str) -> Result<String, Error> {
        Ok(key.to_owned())
    }
}

fn require_send<T: Send>(_: T) {}

fn main() {
    let mut client = Client { hits: 0 };
    let _ = client.by_ref();
    let _ = client.by_mut();
    require_send(client.async_by_ref());
    require_send(client.quote());
    require_send(client.get("k"));
    let _ = client.keyed_on_self();
    let _ = client.default_body();
    let _ = client.by_value();
    let _ = generic(&[&1u8, &2]);
    let _ = impl_trait([1u8].into_iter(), |x| x);
    let _ = patterns((1, 2), [3, 4, 5], 6);
    let _ = keyed_str("a");
    let _ = keyed_tuple("a".into(), 1);
    let _ = keyed_borrowed_expression("a/b");
}
