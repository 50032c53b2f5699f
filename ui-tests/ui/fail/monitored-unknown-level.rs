#[steadfast::monitored(level = "verbose")]
fn fetch() {}

fn main() {}
