// Stacked on an async fn (run as one runtime future), a return type that is not a `Result`:
// one error per attribute that needs one, each on the return type, naming the attribute.
use steadfast::{monitored, retry, timeout};

#[monitored]
#[retry(attempts = 3)]
#[timeout("1s")]
async fn fetch(id: u32) -> u32 {
    id
}

fn main() {}
