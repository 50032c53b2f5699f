#![deny(warnings)]

use steadfast::{CircuitOpen, monitored, retry};

#[derive(Debug)]
pub struct NoDisplay;

pub struct Opaque;

#[derive(Debug)]
pub struct Error;

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("error")
    }
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[monitored]
pub fn unit() {}

#[monitored(name = "shapes.value", level = "trace")]
pub fn value(x: u32) -> u32 {
    x
}

#[monitored(level = "debug")]
pub fn debug_only_error() -> Result<(), NoDisplay> {
    Err(NoDisplay)
}

#[monitored(level = "warn")]
pub fn opaque_error() -> Result<(), Opaque> {
    Err(Opaque)
}

#[monitored(level = "error")]
pub fn impl_trait(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[monitored]
pub fn generic<T: std::fmt::Debug, E>(value: Result<T, E>) -> Result<T, E> {
    value
}

#[monitored]
pub async fn asynchronous(x: &str) -> std::io::Result<usize> {
    Ok(x.len())
}

#[monitored]
#[retry(attempts = 2)]
pub async fn stacked(x: u32) -> Result<u32, Error> {
    Ok(x)
}

pub struct Service;

impl Service {
    #[monitored]
    pub fn by_ref(&self) -> Result<(), Error> {
        Ok(())
    }

    #[monitored]
    pub async fn by_mut(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

#[async_trait::async_trait]
pub trait Api {
    async fn call(&self) -> Result<u8, Error>;
}

#[async_trait::async_trait]
impl Api for Service {
    #[monitored]
    async fn call(&self) -> Result<u8, Error> {
        Ok(1)
    }
}

fn require_send<T: Send>(_: T) {}

fn main() {
    unit();
    let _ = value(1);
    let _ = debug_only_error();
    let _ = opaque_error();
    let _ = impl_trait(3).count();
    let _ = generic::<u8, Opaque>(Ok(1));
    require_send(asynchronous("x"));
    require_send(stacked(1));
    let mut s = Service;
    let _ = s.by_ref();
    require_send(s.by_mut());
    require_send(Service.call());
}
