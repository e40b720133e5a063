//! Showing a backend's URL in messages without its password.

/// `url` without its password, for messages: `redis://user:***@host:6379/`, `nats://user:***@host:4222`.
pub(crate) fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let (user_info, host) = rest.split_at(at);
    match user_info.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn a_shown_url_hides_only_the_password() {
        assert_eq!(
            shown_url("redis://127.0.0.1:6390/"),
            "redis://127.0.0.1:6390/"
        );
        assert_eq!(
            shown_url("redis://ada:s3cr@t@redis.example:6379/0"),
            "redis://ada:***@redis.example:6379/0"
        );
        assert_eq!(shown_url("redis://ada@host/"), "redis://ada@host/");
        assert_eq!(
            shown_url("rediss://:pw@host:6380"),
            "rediss://:***@host:6380"
        );
        assert_eq!(shown_url("not a url"), "not a url");
    }
}
