//! How the exporters label a breaker: a leaf that the breakers, the recorder seam and the
//! exporters all read, so that none of them depends on another for it.

/// Under which name the exporters count a breaker: its own, or, for one of the per-key
/// breakers of a function, the function's (so that label sets stay bounded), with a series
/// per key only when `per_key_metrics` asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exported {
    Own,
    Key {
        function: &'static str,
        per_key_metrics: bool,
    },
    /// A per-key breaker made for one call when the map was full, and not kept: counted
    /// under its function, in no keys-per-state figure.
    Unkept {
        function: &'static str,
    },
}

impl Exported {
    /// The `breaker` label of its counters.
    pub(crate) fn label<'a>(&self, own: &'a str) -> &'a str {
        match *self {
            Exported::Own => own,
            Exported::Key { function, .. } | Exported::Unkept { function } => function,
        }
    }
}

/// The key of a per-key breaker named `function[key]`, as a label value: `db-1` for the
/// breaker `fleet::ping["db-1"]` (a string key loses its quotes).
pub(crate) fn key_of<'a>(breaker: &'a str, function: &str) -> &'a str {
    let key = breaker
        .strip_prefix(function)
        .and_then(|k| k.strip_prefix('['))
        .and_then(|k| k.strip_suffix(']'))
        .unwrap_or(breaker);
    key.strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(key)
}
