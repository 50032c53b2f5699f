//! The error collector every stage writes to: all errors are kept and combined, so the
//! user sees every mistake at once and none stops the others from being found.

/// Every error found so far, combined into one.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn take(self) -> Option<syn::Error> {
        self.0
    }
}
