// `#[cached]` without steadfast's feature `cache`: one error that names the feature.
use steadfast::cached;

#[cached(max_entries = 100)]
fn quote(symbol: &str) -> Result<u32, std::io::Error> {
    Ok(symbol.len() as u32)
}

fn main() {
    let _ = quote("ACME");
}
