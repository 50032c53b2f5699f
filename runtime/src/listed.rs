//! The list of every decorated function's breaker, retry policy, deadline, bulkhead and
//! rate limiter, known before `main` (so that `config::apply` can name a function that was
//! never called, and a typo is an error).
//!
//! One entry per attribute that has something to list: a static holding one reference,
//! gathered by the linker. On Linux each entry is a `#[used]` static in a section of its
//! kind, read back between the linker's `__start_`/`__stop_` symbols: nothing runs before
//! `main` and nothing is built per function but the reference (the technique of `linkme`,
//! written out here because `linkme`'s per-element attribute macro costs more to compile
//! than the rest of a `#[circuit_breaker]` function; the `inventory` entry used before cost
//! 5.8 M instructions of a decorated function's ~18 M). Elsewhere (macOS, Windows, the
//! BSDs, …: platforms this project does not test) the same entries go through `inventory`'s
//! constructors, as before.
//!
//! Generated code lists with `__private::list!(kind, &STATIC)` (`__steadfast_list!`, in
//! `__private.rs`: each kind's section and type); each kind's module reads its section
//! back with `section!` (here), by the same name, so this module imports none of them.

/// One entry made by `inventory` on platforms without the section reader (not Linux, or
/// built with `--cfg steadfast_inventory`, which tests that path on Linux).
#[doc(hidden)]
#[derive(Debug)]
pub struct Listed<T: 'static>(pub &'static T);

/// `section!(fn name() -> Type, "section")`: every entry of one kind, in link order.
macro_rules! section {
    ($(#[$meta:meta])* $vis:vis fn $name:ident() -> $ty:ty, $section:literal) => {
        #[cfg(not(all(target_os = "linux", not(steadfast_inventory))))]
        ::inventory::collect!($crate::listed::Listed<$ty>);

        $(#[$meta])*
        #[allow(unsafe_code)] // the section's bounds, from the linker; nowhere else
        $vis fn $name() -> impl Iterator<Item = &'static $ty> {
            #[cfg(all(target_os = "linux", not(steadfast_inventory)))]
            {
                // The section exists (empty) even in a program with no entry of this kind,
                // so that the linker defines its bounds.
                #[used]
                #[unsafe(link_section = $section)]
                static EMPTY: [&'static $ty; 0] = [];
                unsafe extern "Rust" {
                    #[link_name = concat!("__start_", $section)]
                    static START: [&'static $ty; 0];
                    #[link_name = concat!("__stop_", $section)]
                    static STOP: [&'static $ty; 0];
                }
                let start = (&raw const START).cast::<&'static $ty>();
                let stop = (&raw const STOP).cast::<&'static $ty>();
                let len = (stop as usize - start as usize) / ::std::mem::size_of::<&'static $ty>();
                // SAFETY: the linker places every entry of this section (each one a
                // `&'static $ty`, aligned as such, from `__steadfast_list!`, the only
                // writer of this section name) one after the other between the two symbols.
                unsafe { ::std::slice::from_raw_parts(start, len) }.iter().copied()
            }
            #[cfg(not(all(target_os = "linux", not(steadfast_inventory))))]
            {
                ::inventory::iter::<$crate::listed::Listed<$ty>>.into_iter().map(|listed| listed.0)
            }
        }
    };
}
pub(crate) use section;

#[cfg(test)]
mod tests {
    /// The sections carry the crate's version (`steadfast_0_1_…`), so that two versions of
    /// the runtime in one program never read each other's entries (of other types). Bump
    /// the names with the version.
    #[test]
    fn the_section_names_carry_the_version() {
        assert_eq!(
            concat!(
                "steadfast_",
                env!("CARGO_PKG_VERSION_MAJOR"),
                "_",
                env!("CARGO_PKG_VERSION_MINOR")
            ),
            "steadfast_0_1"
        );
    }
}
