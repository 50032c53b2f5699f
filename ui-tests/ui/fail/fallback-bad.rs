// A fallback of the wrong shape (sync, async, with `args`), a predicate of the wrong shape,
// an argument `args` cannot clone, `&mut self` with `args`, a return type that is not a
// `Result`, a fallback below a retry, a missing fallback, an unknown key: one error each,
// on the token at fault.
use steadfast::{fallback, retry};

#[derive(Debug)]
struct Error;

fn returns_option(_: Error) -> Option<u32> {
    None
}

#[fallback(returns_option)]
fn wrong_return() -> Result<u32, Error> {
    Ok(1)
}

fn sync_fallback(_: Error) -> Result<u32, Error> {
    Ok(0)
}

#[fallback(sync_fallback)]
async fn async_with_sync_fallback() -> Result<u32, Error> {
    Ok(1)
}

fn forgot_the_error(_: &u32) -> Result<u32, Error> {
    Ok(0)
}

#[fallback(forgot_the_error, args)]
fn args_without_error(id: u32) -> Result<u32, Error> {
    Ok(id)
}

async fn async_wrong_args(_: &String, _: Error) -> Result<u32, Error> {
    Ok(0)
}

#[fallback(async_wrong_args, args)]
async fn async_args_of_another_type(id: u32) -> Result<u32, Error> {
    Ok(id)
}

fn takes_str(_: &str) -> bool {
    true
}

#[fallback(sync_fallback, on = takes_str)]
fn predicate_of_another_type() -> Result<u32, Error> {
    Ok(1)
}

struct Connection;

fn reconnect(_: &Connection, _: Error) -> Result<u32, Error> {
    Ok(0)
}

#[fallback(reconnect, args)]
fn not_clone(conn: Connection) -> Result<u32, Error> {
    let _ = conn;
    Ok(1)
}

struct Client;

impl Client {
    fn offline(&self, _: Error) -> Result<u32, Error> {
        Ok(0)
    }

    #[fallback(Self::offline, args)]
    fn mutates(&mut self) -> Result<u32, Error> {
        Ok(1)
    }
}

fn anything(_: Error) -> u32 {
    0
}

#[fallback(anything)]
fn not_a_result() -> u32 {
    1
}

#[retry(attempts = 3)]
#[fallback(sync_fallback)]
fn under_a_retry() -> Result<u32, Error> {
    Ok(1)
}

#[fallback]
fn no_function() -> Result<u32, Error> {
    Ok(1)
}

#[fallback(sync_fallback, when = takes_str)]
fn unknown_key() -> Result<u32, Error> {
    Ok(1)
}

fn main() {}
