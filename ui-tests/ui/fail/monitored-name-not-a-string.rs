#[steadfast::monitored(name = fetch)]
fn fetch() {}

fn main() {}
