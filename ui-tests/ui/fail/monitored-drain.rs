// `drain` takes "reject" or "cancel"; a drained function returns a `Result` whose error has
// `From<ShuttingDown>`.
use steadfast::monitored;

#[monitored(drain = "abort")]
fn unknown_mode() -> Result<(), std::io::Error> {
    Ok(())
}

#[monitored(drain = "reject")]
fn not_a_result() -> u32 {
    1
}

#[derive(Debug)]
struct UploadError;

#[monitored(drain = "cancel")]
async fn without_from() -> Result<(), UploadError> {
    Ok(())
}

fn main() {}
