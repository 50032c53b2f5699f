#[steadfast::monitored]
const fn fetch() -> u8 {
    1
}

fn main() {}
