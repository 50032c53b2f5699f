//! The parsers and checks never panic: whatever tokens an attribute and its item are, the
//! expansion returns code or `compile_error!`s. Seeded with every ui-test input, then fed
//! random token streams.

use std::str::FromStr;

use proc_macro2::TokenStream;
use proptest::prelude::*;

use crate::attributes::Attr;
use crate::pipeline;

const ATTRS: &[Attr] = Attr::ALL;

/// Expands, turning a panic into a test failure that names the input.
fn expands(attr: Attr, args: &str, item: &str) {
    let (Ok(args_ts), Ok(item_ts)) = (TokenStream::from_str(args), TokenStream::from_str(item))
    else {
        return; // not lexically valid: the compiler would never call us with it
    };
    let result = std::panic::catch_unwind(|| pipeline::run(attr, args_ts, item_ts).to_string());
    assert!(
        result.is_ok(),
        "#[{}({args})] on `{item}` panicked",
        attr.name()
    );
}

/// Every function in every ui-test file, with each of its attributes of ours, expands.
#[test]
fn every_ui_test_input_expands_without_panicking() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui-tests/ui");
    let mut seen = 0;
    for sub in ["pass", "fail"] {
        let Ok(entries) = std::fs::read_dir(format!("{dir}/{sub}")) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            for (attr, args, item) in attributed_items(&source) {
                expands(attr, &args, &item);
                // And every prefix of the arguments: half-written attributes.
                for cut in (0..args.len()).filter(|i| args.is_char_boundary(*i)) {
                    expands(attr, &args[..cut], &item);
                }
                seen += 1;
            }
        }
    }
    assert!(seen >= 60, "only {seen} attributed items found under {dir}");
}

/// `(attribute, its arguments, the item without it)` for each of our attributes in `source`.
fn attributed_items(source: &str) -> Vec<(Attr, String, String)> {
    let Ok(file) = syn::parse_file(source) else {
        return Vec::new();
    };
    let mut items: Vec<TokenStream> = Vec::new();
    for item in &file.items {
        match item {
            syn::Item::Impl(imp) => {
                items.extend(imp.items.iter().map(|i| quote::quote!(#i)));
            }
            syn::Item::Trait(t) => items.extend(t.items.iter().map(|i| quote::quote!(#i))),
            other => items.push(quote::quote!(#other)),
        }
    }
    let mut out = Vec::new();
    for tokens in items {
        let Ok(mut func) = syn::parse2::<syn::ItemFn>(tokens.clone()) else {
            // Bodyless trait fns, structs: expand them with each attribute anyway.
            for &attr in ATTRS {
                out.push((attr, String::new(), tokens.to_string()));
            }
            continue;
        };
        let attrs = std::mem::take(&mut func.attrs);
        for (i, attribute) in attrs.iter().enumerate() {
            let name = attribute
                .path()
                .segments
                .last()
                .map(|s| s.ident.to_string());
            let Some(attr) = ATTRS
                .iter()
                .copied()
                .find(|a| Some(a.name().to_owned()) == name)
            else {
                continue;
            };
            let args = match &attribute.meta {
                syn::Meta::List(list) => list.tokens.to_string(),
                _ => String::new(),
            };
            let mut rest = func.clone();
            rest.attrs = attrs
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, a)| a.clone())
                .collect();
            out.push((attr, args, quote::quote!(#rest).to_string()));
        }
    }
    out
}

/// Every key of every attribute, as the parsers list them.
fn all_keys() -> Vec<&'static str> {
    use crate::args::{bulkhead, cached, circuit_breaker, monitored, rate_limit, retry};
    [
        circuit_breaker::KEYS.keys,
        retry::KEYS.keys,
        monitored::KEYS.keys,
        rate_limit::KEYS.keys,
        bulkhead::KEYS.keys,
        cached::KEYS.keys,
    ]
    .concat()
}

/// Token soup made of the pieces attribute arguments are made of.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            [
                all_keys(),
                vec![
                    "detach", "self", "host", "x", "Duration", "fn", "async", "move", "args", "on"
                ]
            ]
            .concat(),
        )
        .prop_map(str::to_owned),
        prop::sample::select(vec![
            "\"2s\"",
            "\"0s\"",
            "\"250ms\"",
            "\"1.5m\"",
            "\"x\"",
            "\"\"",
            "\"99999999999999h\"",
            "\"exponential\"",
            "\"full\"",
            "\"debug\"",
            "0",
            "1",
            "5",
            "0.5",
            "1.5",
            "-1",
            "18446744073709551615",
            "340282366920938463463374607431768211455",
            "1e400",
            "'c'",
            "b\"x\"",
            "true",
        ])
        .prop_map(str::to_owned),
        prop::sample::select(vec![
            "=", ",", ",", ".", "|", "&", "::", "#", "!", "-", "*", "<", ">", ";", "?"
        ])
        .prop_map(str::to_owned),
    ]
}

/// `key = value, …` lists of the real keys with values of every kind: the paths that
/// check meaning, not only syntax.
fn entries() -> impl Strategy<Value = String> {
    let key = prop::sample::select([all_keys(), vec!["bogus"]].concat());
    let value = prop::sample::select(vec![
        "\"2s\"",
        "\"0s\"",
        "\"250ms\"",
        "\"1.5m\"",
        "\"\"",
        "\"99999999999999h\"",
        "\"constant\"",
        "\"linear\"",
        "\"exponential\"",
        "\"none\"",
        "\"full\"",
        "\"equal\"",
        "\"decorrelated\"",
        "\"debug\"",
        "\"payments\"",
        "0",
        "1",
        "5",
        "0.5",
        "1.0",
        "1.5",
        "0.0",
        "-1",
        "4294967296",
        "18446744073709551615",
        "340282366920938463463374607431768211455",
        "1e400",
        "host",
        "self.x",
        "x.0",
        "hash(host)",
        "|e| true",
        "Duration::MAX",
        "f()",
        "(a, b)",
        "&host",
        "'c'",
        "true",
    ]);
    let entry = prop_oneof![
        4 => (key.clone(), value.clone()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => value.prop_map(|v| v.to_owned()),
        1 => key.prop_map(|k| k.to_owned()),
    ];
    prop::collection::vec(entry, 0..6).prop_map(|v| v.join(", "))
}

fn soup() -> impl Strategy<Value = String> {
    let leaf = prop::collection::vec(piece(), 0..8).prop_map(|v| v.join(" "));
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop::collection::vec(
            prop_oneof![
                inner.clone(),
                inner.clone().prop_map(|s| format!("({s})")),
                inner.clone().prop_map(|s| format!("[{s}]")),
                inner.prop_map(|s| format!("{{{s}}}")),
            ],
            0..4,
        )
        .prop_map(|v| v.join(" "))
    })
}

/// Function shapes, some valid, some not.
fn item() -> impl Strategy<Value = String> {
    let head = prop::sample::select(vec![
        "fn f()",
        "async fn f()",
        "const fn f()",
        "unsafe fn f()",
        "extern \"C\" fn f()",
        "pub fn f(&self)",
        "fn f(self)",
        "fn f(host: &str)",
        "fn f((a, b): (u8, u8))",
        "async fn f<T: Clone>(t: T)",
        "fn f(x: impl Fn())",
        "fn f<'a>(x: &'a str)",
    ]);
    let ret = prop::sample::select(vec![
        "",
        "-> u32",
        "-> Result<u8, E>",
        "-> io::Result<()>",
        "-> impl Sized",
    ]);
    let body = prop::sample::select(vec!["{}", "{ Ok(1) }", "{ return Err(e)?; }", ";"]);
    (head, ret, body, prop_oneof![entries(), soup()]).prop_map(|(h, r, b, attrs)| {
        if attrs.is_empty() {
            format!("{h} {r} {b}")
        } else {
            format!("#[retry({attrs})] #[circuit_breaker(key = host)] #[timeout] {h} {r} {b}")
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_arguments_and_items_never_panic(
        attr in prop::sample::select(ATTRS.to_vec()),
        args in prop_oneof![entries(), soup()],
        item in item(),
    ) {
        expands(attr, &args, &item);
    }

    #[test]
    fn random_items_never_panic(attr in prop::sample::select(ATTRS.to_vec()), item in soup()) {
        expands(attr, "", &item);
    }
}
