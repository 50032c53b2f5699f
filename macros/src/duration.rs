//! Durations in attributes: a string literal with a unit (`"250ms"`, `"2s"`, `"1.5m"`),
//! checked here, or any other expression of type `std::time::Duration`, checked by the
//! compiler and used as it is.

use quote::quote;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr};

pub(crate) enum DurationArg {
    /// A literal, in nanoseconds; zero only for a key that allows it (`max_wait`).
    Literal(u64, LitStr),
    /// Any other expression; its type is checked where it is used.
    Expr(Box<Expr>),
}

const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

impl DurationArg {
    /// `what` names the key in messages, e.g. "`open_for`".
    pub(crate) fn from_expr(expr: Expr, what: &str) -> syn::Result<Self> {
        Self::parse(expr, what, false)
    }

    /// [`from_expr`](Self::from_expr) for a key where zero means "not at all" (`max_wait`).
    pub(crate) fn from_expr_or_zero(expr: Expr, what: &str) -> syn::Result<Self> {
        Self::parse(expr, what, true)
    }

    fn parse(expr: Expr, what: &str, zero: bool) -> syn::Result<Self> {
        match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => match parse_literal(&s, what) {
                Ok(nanos) => Ok(DurationArg::Literal(nanos, s)),
                Err(_) if zero && is_zero(&s.value()) => Ok(DurationArg::Literal(0, s)),
                Err(e) => Err(e),
            },
            Expr::Lit(ExprLit { lit, .. }) => Err(syn::Error::new(
                lit.span(),
                format!(
                    "{what} takes a duration: a string with a unit such as \"250ms\", \"2s\", \"1m\" or \"1h\", or an expression of type `std::time::Duration`"
                ),
            )),
            other => Ok(DurationArg::Expr(Box::new(other))),
        }
    }

    /// How the user wrote it.
    pub(crate) fn source(&self) -> String {
        match self {
            DurationArg::Literal(_, lit) => format!("{:?}", lit.value()),
            DurationArg::Expr(expr) => quote!(#expr).to_string(),
        }
    }

    pub(crate) fn span(&self) -> proc_macro2::Span {
        match self {
            DurationArg::Literal(_, lit) => lit.span(),
            DurationArg::Expr(expr) => expr.span(),
        }
    }
}

/// `"0s"`, `"0ms"`, `"0"` with any unit: a well-formed zero.
fn is_zero(text: &str) -> bool {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_alphabetic() || c == 'µ' || c == ' ');
    let unit = text[digits.len()..].trim();
    !digits.is_empty()
        && !digits.starts_with('.')
        && !digits.ends_with('.')
        && digits.chars().all(|c| c == '0' || c == '.' || c == '_')
        && digits.contains('0')
        && UNITS.iter().any(|(name, _)| *name == unit)
}

fn parse_literal(lit: &LitStr, what: &str) -> syn::Result<u64> {
    let text = lit.value();
    let malformed = || {
        syn::Error::new(
            lit.span(),
            format!(
                "malformed duration {text:?} for {what}; write a number and a unit, such as \"250ms\", \"2s\", \"1.5m\" or \"1h\" (units: ns, us, ms, s, m, h)"
            ),
        )
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .ok_or_else(malformed)?;
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim();
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, scale)| *scale)
        .ok_or_else(malformed)?;
    let number = number.replace('_', "");
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(malformed());
    }
    let nanos = match number.split_once('.') {
        None => number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale)),
        Some((whole, frac)) => {
            let whole = whole.parse::<u64>().ok().and_then(|n| n.checked_mul(scale));
            let frac_value: f64 = format!("0.{frac}").parse().map_err(|_| malformed())?;
            whole.and_then(|w| w.checked_add((frac_value * scale as f64).round() as u64))
        }
    };
    match nanos {
        None => Err(syn::Error::new(
            lit.span(),
            format!("duration {text:?} for {what} is too long (the limit is about 584 years)"),
        )),
        Some(0) => Err(syn::Error::new(
            lit.span(),
            format!("{what} must be longer than zero"),
        )),
        Some(n) => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> syn::Result<u64> {
        parse_literal(&LitStr::new(text, proc_macro2::Span::call_site()), "`x`")
    }

    #[test]
    fn zero_is_a_duration_only_where_the_key_allows_it() {
        let zero = |text: &str| syn::parse_str::<Expr>(&format!("{text:?}")).unwrap();
        for text in ["0s", "0ms", "0 s", "0.0s", "0_0ms"] {
            assert!(
                matches!(
                    DurationArg::from_expr_or_zero(zero(text), "`max_wait`"),
                    Ok(DurationArg::Literal(0, _))
                ),
                "{text}"
            );
            assert!(
                DurationArg::from_expr(zero(text), "`open_for`").is_err(),
                "{text}"
            );
        }
        for text in ["0", "s", "0x", ".0s"] {
            assert!(
                DurationArg::from_expr_or_zero(zero(text), "`max_wait`").is_err(),
                "{text}"
            );
        }
    }

    /// `steadfast::config` reads durations as the attributes take them: the two parsers agree.
    #[test]
    fn the_runtime_reads_durations_as_the_macros_do() {
        for text in [
            "250ms", "2s", "1m", "1h", "1.5m", "10us", "10µs", "7ns", "1_000ms", "0.25s", "2 s",
        ] {
            let ours = parse(text).expect(text);
            let theirs = steadfast::config::parse_duration(text).expect(text);
            assert_eq!(u128::from(ours), theirs.as_nanos(), "{text}");
        }
        for bad in ["2", "ms", "1.s", ".5s", "1d", "s1"] {
            assert!(parse(bad).is_err(), "{bad}");
            assert!(steadfast::config::parse_duration(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn units() {
        assert_eq!(parse("250ms").unwrap(), 250_000_000);
        assert_eq!(parse("2s").unwrap(), 2_000_000_000);
        assert_eq!(parse("1m").unwrap(), 60_000_000_000);
        assert_eq!(parse("1h").unwrap(), 3_600_000_000_000);
        assert_eq!(parse("1.5s").unwrap(), 1_500_000_000);
        assert_eq!(parse("10us").unwrap(), 10_000);
        assert_eq!(parse("1_000ms").unwrap(), 1_000_000_000);
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "5",
            "s",
            "5 parsecs",
            "1.s",
            ".5s",
            "-1s",
            "1e3ms",
            "5S",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(
            parse("0s")
                .unwrap_err()
                .to_string()
                .contains("longer than zero")
        );
        assert!(
            parse("99999999999h")
                .unwrap_err()
                .to_string()
                .contains("too long")
        );
    }
}
