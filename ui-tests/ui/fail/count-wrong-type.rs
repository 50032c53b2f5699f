// A count given as an expression is type-checked where it is written.
use steadfast::retry;

const ATTEMPTS: u64 = 3;

#[retry(attempts = ATTEMPTS)]
fn f() -> Result<(), std::io::Error> {
    Ok(())
}

#[retry(attempts = "3")]
fn g() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
