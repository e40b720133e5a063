//! Plain HTTP files a server answers besides WebSocket upgrades (e.g. the browser client).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// The browser client module, `clients/browser/exws.js`.
pub(crate) const BROWSER_CLIENT: &str = include_str!("../../../clients/browser/exws.js");

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
