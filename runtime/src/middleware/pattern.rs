//! Choosing the `Type`s a middleware applies to, by name or glob pattern.

use super::{Middleware, Next, Request, Response};
use std::future::Future;

/// A set of `Type` names and patterns: `"chat.send"` matches that `Type` only, `*` in a
/// pattern matches any run of characters (`"admin.*"`, `"*.delete"`, `"*"`).
#[derive(Debug, Clone, Default)]
pub struct TypePatterns(Vec<String>);

impl TypePatterns {
    /// The set of `patterns`.
    pub fn new<I, S>(patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TypePatterns(patterns.into_iter().map(Into::into).collect())
    }

    /// Whether `message_type` matches one of the patterns.
    pub fn matches(&self, message_type: &str) -> bool {
        self.0
            .iter()
            .any(|pattern| glob_match(pattern, message_type))
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: the prefix was the whole pattern.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Applies `middleware` to the `Type`s matching `patterns` only; other messages go straight
/// on. `only(["admin.*", "billing.refund"], RequireRole::...)`.
pub fn only<I, S, M>(patterns: I, middleware: M) -> Only<M>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
    M: Middleware,
{
    Only {
        patterns: TypePatterns::new(patterns),
        middleware,
    }
}

/// The middleware [`only`] makes.
#[derive(Debug, Clone)]
pub struct Only<M> {
    patterns: TypePatterns,
    middleware: M,
}

impl<M: Middleware> Middleware for Only<M> {
    fn call(&self, request: Request, next: Next) -> impl Future<Output = Response> + Send {
        let applies = self.patterns.matches(request.message_type());
        async move {
            if applies {
                self.middleware.call(request, next).await
            } else {
                next.run(request).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_match_names_and_stars() {
        assert!(glob_match("chat.send", "chat.send"));
        assert!(!glob_match("chat.send", "chat.sends"));
        assert!(!glob_match("chat.send", "chat.sen"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("admin.*", "admin.reset"));
        assert!(glob_match("admin.*", "admin."));
        assert!(!glob_match("admin.*", "administrator"));
        assert!(glob_match("*.delete", "room.delete"));
        assert!(!glob_match("*.delete", "room.deleted"));
        assert!(glob_match("a*b*c", "a-b-c"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("ab*ba", "abba"));
    }
}
