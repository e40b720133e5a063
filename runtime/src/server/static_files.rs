//! Plain HTTP files a server answers besides WebSocket upgrades (e.g. the browser client).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// The browser client module: `runtime/assets/exws.js`, a copy of `clients/browser/exws.js`
/// inside the crate so that the packaged crate holds it (a test keeps the two identical).
pub(crate) const BROWSER_CLIENT: &str = include_str!("../../assets/exws.js");

/// One file served over plain HTTP GET.
#[derive(Debug, Clone)]
pub(crate) struct StaticFile {
    pub content_type: Cow<'static, str>,
    pub body: Cow<'static, [u8]>,
}

/// Files by path.
#[derive(Debug, Clone, Default)]
pub(crate) struct StaticFiles(Arc<HashMap<String, StaticFile>>);

impl StaticFiles {
    pub(crate) fn insert(&mut self, path: String, file: StaticFile) {
        Arc::make_mut(&mut self.0).insert(path, file);
    }

    pub(crate) fn get(&self, path: &str) -> Option<&StaticFile> {
        self.0.get(path)
    }
}

#[cfg(test)]
mod browser_client_copy {
    /// The packaged copy is the browser client itself: edit `clients/browser/exws.js`, then
    /// copy it to `runtime/assets/exws.js`.
    #[test]
    fn is_identical_to_the_browser_client() {
        let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../clients/browser/exws.js");
        let original = std::fs::read_to_string(source).expect("read clients/browser/exws.js");
        assert!(
            original == super::BROWSER_CLIENT,
            "runtime/assets/exws.js differs from clients/browser/exws.js: \
             cp clients/browser/exws.js runtime/assets/exws.js"
        );
    }
}
