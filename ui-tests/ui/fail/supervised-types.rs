// An argument that cannot be cloned for each run, an argument that cannot go to another
// thread, a return type that is neither `()` nor a `Result` with a `Display` error.
use std::rc::Rc;

use steadfast::supervised;

struct Queue;

#[supervised]
fn not_clone(queue: Queue) {
    let _ = queue;
}

#[supervised]
fn not_send(queue: Rc<u32>) {
    let _ = queue;
}

#[supervised]
fn counts() -> u32 {
    1
}

#[derive(Debug)]
struct Opaque;

#[supervised]
async fn error_not_display() -> Result<(), Opaque> {
    Ok(())
}

fn main() {}
