//! One error context for the whole item (serde_derive's `Ctxt`): the attribute and the
//! signature are both checked, and every problem is reported in one build.

use quote::ToTokens;

/// Collected errors of one `#[message]` item.
#[derive(Default)]
pub(crate) struct Ctxt(Option<syn::Error>);

impl Ctxt {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: &str) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The errors as `compile_error!` invocations, or nothing.
    pub(crate) fn to_compile_errors(&self) -> proc_macro2::TokenStream {
        self.0
            .as_ref()
            .map(syn::Error::to_compile_error)
            .unwrap_or_default()
    }

    #[cfg(test)]
    pub(crate) fn into_messages(self) -> Vec<String> {
        self.0
            .map(|error| error.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default()
    }
}
