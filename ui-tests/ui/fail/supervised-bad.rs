// A window the backoff can never fill, a borrowed argument, `&self`, an `impl Trait`
// argument, a misspelt key, an unknown restart mode: one error each, on the token at fault.
use steadfast::supervised;

#[supervised(delay = "10s", max_restarts = 5, within = "60s")]
fn never_gives_up() {}

#[supervised]
fn borrows(queue: &str) {
    let _ = queue;
}

struct Poller;

impl Poller {
    #[supervised]
    fn poll(&self) {}
}

#[supervised]
fn opaque(job: impl Fn() + Clone + Send + 'static) {
    job();
}

#[supervised(max_restart = 3)]
fn misspelt() {}

#[supervised(restart = "always")]
fn unknown_restart() {}

fn main() {}
