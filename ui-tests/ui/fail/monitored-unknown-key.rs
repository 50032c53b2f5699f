#[steadfast::monitored(label = "fetch")]
fn fetch() {}

fn main() {}
