//! `#[cached]`

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Pat, PathArguments, Type};

use super::{Cx, Emit, Needs, as_future, body, count_u64, default_name, duration, name_arg};
use crate::args::cached::CachedArgs;

// Input:
//     #[cached(max_entries = 1000, ttl = "5m")]
//     async fn quote(symbol: &str) -> Result<Quote, Error> { body }
//
// Output (inside `cache_gate!`, which without the feature `cache` is one error naming it):
//     async fn quote(symbol: &str) -> Result<Quote, Error> {
//         static CACHE: CacheSlot = CacheSlot::new(CacheSpec { max_entries: 1000, … }, &FUNCTION);
//         let key = ToOwned::to_owned(symbol);                 // the arguments, owned
//         let mode = (&&&CacheKind::<Result<Quote, Error>>::NEW).mode();   // what is stored
//         cached_async(&CACHE, key, mode, async { <inner> }).await
//     }
impl Emit for CachedArgs {
    fn needs(&self) -> Needs {
        Needs {
            figures: true,
            ..Needs::default()
        }
    }

    fn wrap(&self, inner: TokenStream, cx: &Cx<'_>) -> TokenStream {
        let function = cx.function;
        let default_name = default_name(cx.func);
        let name = name_arg(self.name.as_ref());
        // Required: the validator reported its absence, this only keeps going.
        let max_entries = self
            .max_entries
            .as_ref()
            .map_or_else(|| quote!(1), |m| count_u64(&m.value));
        let optional = |d: &Option<crate::args::Spanned<crate::duration::DurationArg>>| match d {
            Some(d) => {
                let d = duration(&d.value);
                quote!(::core::option::Option::Some(#d))
            }
            None => quote!(::core::option::Option::None),
        };
        let (ttl, tti) = (optional(&self.ttl), optional(&self.tti));
        let key = match &self.key {
            Some(key) => {
                let expr = &key.value;
                quote_spanned!(key.span=> #expr)
            }
            None => default_key(cx),
        };
        let ret = body::output_type(cx.kind, cx.func);
        let (key_local, mode) = (Cx::local("__steadfast_key"), Cx::local("__steadfast_mode"));
        let call = if cx.is_async() {
            let future = as_future(inner.clone());
            quote!(::steadfast::__private::cached_async(&__STEADFAST_CACHE, #key_local, #mode, #future).await)
        } else {
            quote!(::steadfast::__private::cached(&__STEADFAST_CACHE, #key_local, #mode, || #inner))
        };
        quote! {
            ::steadfast::__private::cache_gate!({
                static __STEADFAST_CACHE: ::steadfast::__private::CacheSlot =
                    ::steadfast::__private::CacheSlot::new(::steadfast::__private::CacheSpec {
                        name: #name,
                        default_name: #default_name,
                        max_entries: #max_entries,
                        ttl: #ttl,
                        tti: #tti,
                    }, #function);
                let #key_local = #key;
                #[allow(unused_imports)]
                use ::steadfast::__private::{
                    CacheResultClone as _, CacheResultShared as _, CacheValue as _,
                };
                let #mode = (&&&::steadfast::__private::CacheKind::<#ret>::NEW).mode();
                #call
            } {
                #inner
            })
        }
    }
}

/// The arguments as the key, owned: one argument itself, several as a tuple. A reference
/// is made owned (`&str` → `String`), an `Option<&T>` too; other arguments are cloned.
fn default_key(cx: &Cx<'_>) -> TokenStream {
    let mut parts = Vec::new();
    for input in &cx.func.sig.inputs {
        let FnArg::Typed(typed) = input else {
            // A method needs `key`: the validator reported it.
            continue;
        };
        let Pat::Ident(ident) = &*typed.pat else {
            continue;
        };
        let name = &ident.ident;
        let part = match &*typed.ty {
            Type::Reference(_) => {
                quote_spanned!(typed.span()=> ::std::borrow::ToOwned::to_owned(#name))
            }
            ty if is_option_of_reference(ty) => quote_spanned!(typed.span()=>
                ::core::option::Option::map(#name, ::std::borrow::ToOwned::to_owned)
            ),
            _ => quote_spanned!(typed.span()=> ::core::clone::Clone::clone(&#name)),
        };
        parts.push(part);
    }
    match parts.len() {
        1 => parts.remove(0),
        _ => quote!((#(#parts,)*)),
    }
}

fn is_option_of_reference(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if last.ident != "Option" {
        return false;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    matches!(
        args.args.first(),
        Some(GenericArgument::Type(Type::Reference(_)))
    )
}
