//! The one table of attributes. A row names an attribute and its arguments' type; that
//! type implements one trait per stage, each in the stage's own file:
//!
//! | stage | trait | file |
//! |---|---|---|
//! | parse | [`AttributeArgs`] | `args/<name>.rs` |
//! | validate | [`Check`] | `validate/<name>.rs` |
//! | emit | [`Emit`] | `expand/<name>.rs` |
//!
//! From the table come [`Attr`] (which attribute), [`Layer`] (one parsed attribute) and
//! the dispatch from each to its stages. Adding an attribute: its three stage files, its
//! runtime module, a row here, and its entry point in `lib.rs`.

use proc_macro2::{Span, TokenStream};

use crate::args::AttributeArgs;
use crate::errors::Errors;
use crate::expand::{AsLayer, Cx, Emit, Needs};
use crate::item::Func;
use crate::kind::Kind;
use crate::validate::{self, Check};

macro_rules! attributes {
    ($($variant:ident($args:ty)),* $(,)?) => {
        /// One of our attributes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Attr {
            $($variant,)*
        }

        impl Attr {
            pub(crate) const ALL: &'static [Attr] = &[$(Attr::$variant,)*];

            /// As written: `circuit_breaker`.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Attr::$variant => <$args as AttributeArgs>::NAME,)*
                }
            }

            /// Why it is written once, for the "already on this function" error.
            pub(crate) fn once(self) -> &'static str {
                match self {
                    $(Attr::$variant => <$args as AttributeArgs>::ONCE,)*
                }
            }

            /// The attributes it must not be written below, each with why.
            pub(crate) fn not_below(self) -> &'static [(&'static str, &'static str)] {
                match self {
                    $(Attr::$variant => <$args as AttributeArgs>::NOT_BELOW,)*
                }
            }

            /// Parses this attribute's arguments; `at` is where to point errors about the
            /// attribute as a whole.
            pub(crate) fn parse(self, tokens: TokenStream, at: Span, errors: &mut Errors) -> Layer {
                match self {
                    $(Attr::$variant => Layer::$variant(<$args as AttributeArgs>::parse(tokens, at, errors)),)*
                }
            }
        }

        /// One attribute's parsed arguments. A handful live for one macro call: their
        /// sizes do not matter.
        #[allow(clippy::large_enum_variant)]
        pub(crate) enum Layer {
            $($variant($args),)*
        }

        impl Layer {
            pub(crate) fn check(&self, cx: &validate::Cx<'_>, errors: &mut Errors) {
                match self {
                    $(Layer::$variant(args) => Check::check(args, cx, errors),)*
                }
            }

            pub(crate) fn needs(&self) -> Needs {
                match self {
                    $(Layer::$variant(args) => Emit::needs(args),)*
                }
            }

            pub(crate) fn label(&self) -> Option<TokenStream> {
                match self {
                    $(Layer::$variant(args) => Emit::label(args),)*
                }
            }

            pub(crate) fn listed(&self) -> Option<(&'static str, TokenStream)> {
                match self {
                    $(Layer::$variant(args) => Emit::listed(args),)*
                }
            }

            pub(crate) fn wrap(&self, inner: TokenStream, cx: &Cx<'_>) -> TokenStream {
                match self {
                    $(Layer::$variant(args) => Emit::wrap(args, inner, cx),)*
                }
            }

            pub(crate) fn as_layer(&self, cx: &Cx<'_>) -> Option<AsLayer> {
                match self {
                    $(Layer::$variant(args) => Emit::as_layer(args, cx),)*
                }
            }

            pub(crate) fn companion(&self, func: &Func, kind: &Kind, label: &TokenStream) -> Option<TokenStream> {
                match self {
                    $(Layer::$variant(args) => Emit::companion(args, func, kind, label),)*
                }
            }
        }
    };
}

attributes! {
    CircuitBreaker(crate::args::circuit_breaker::CircuitBreakerArgs),
    Retry(crate::args::retry::RetryArgs),
    Timeout(crate::args::timeout::TimeoutArgs),
    Monitored(crate::args::monitored::MonitoredArgs),
    RateLimit(crate::args::rate_limit::RateLimitArgs),
    Bulkhead(crate::args::bulkhead::BulkheadArgs),
    Fallback(crate::args::fallback::FallbackArgs),
    Cached(crate::args::cached::CachedArgs),
    Supervised(crate::args::supervised::SupervisedArgs),
}

impl Layer {
    pub(crate) fn is_monitored(&self) -> bool {
        matches!(self, Layer::Monitored(_))
    }

    pub(crate) fn is_retry(&self) -> bool {
        matches!(self, Layer::Retry(_))
    }
}
