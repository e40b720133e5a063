//! The HTTP upgrade request a WebSocket connection starts with.

use std::borrow::Cow;
use std::net::SocketAddr;

/// The client's HTTP upgrade request: what an authenticator decides on.
#[derive(Debug, Clone)]
pub struct HandshakeRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) remote_addr: SocketAddr,
}

impl HandshakeRequest {
    /// The request method (`GET` for an upgrade).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path, without the query string, e.g. `/ws`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw query string (without `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The first value of the query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        let query = self.query.as_deref()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The first value of the header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every header, in the order received, names as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The value of the cookie `name`, from the `Cookie` headers.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, value)| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.trim_matches('"'))
    }

    /// The `Origin` header, sent by browsers.
    pub fn origin(&self) -> Option<&str> {
        self.header("origin")
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: Option<&str>, headers: &[(&str, &str)]) -> HandshakeRequest {
        HandshakeRequest {
            method: "GET".into(),
            path: "/".into(),
            query: query.map(str::to_owned),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            remote_addr: SocketAddr::from(([127, 0, 0, 1], 9)),
        }
    }

    #[test]
    fn reads_query_parameters_decoded() {
        let request = request(Some("a=1&initData=x%3D1%26y&b"), &[]);
        assert_eq!(request.query_param("initData").as_deref(), Some("x=1&y"));
        assert_eq!(request.query_param("missing"), None);
    }

    #[test]
    fn reads_headers_case_insensitively_and_cookies() {
        let request = request(
            None,
            &[
                ("Authorization", "tma abc"),
                ("Cookie", "a=1; session=\"s3\""),
            ],
        );
        assert_eq!(request.header("authorization"), Some("tma abc"));
        assert_eq!(request.cookie("session"), Some("s3"));
        assert_eq!(request.cookie("b"), None);
    }
}
