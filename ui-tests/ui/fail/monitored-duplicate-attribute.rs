#[steadfast::monitored]
#[steadfast::monitored(name = "again")]
fn fetch() {}

fn main() {}
