//! `Type` names: the ones exws reserves, and the rule that names a Rust type.
//!
//! By default a handler observes the `Type` named after its request type, its replies carry
//! the name of its reply type, and a push (`Connection::send`, a hub message) the name of the
//! pushed value's type. The name is the type's path without generic arguments, cut after its
//! last `::`: `api::v1::CalculateResponse<u8>` is `CalculateResponse`. The macros apply the
//! rule to the path written in the signature, the server and the client to
//! [`std::any::type_name`]; both go through [`type_name`].

/// The `Type` of an `Error` envelope.
pub const ERROR: &str = "Error";
/// The `Type` of the envelope that ends a stream.
pub const STREAM_END: &str = "StreamEnd";
/// The `Type` of the envelope with which a client cancels a stream.
pub const STREAM_CANCEL: &str = "StreamCancel";

/// The `Type`s exws sends or reads itself: no handler may observe or reply with them.
pub const RESERVED: [&str; 3] = [ERROR, STREAM_END, STREAM_CANCEL];

/// Whether `name` is one of the [`RESERVED`] `Type`s.
///
/// ```
/// assert!(exws_protocol::message_type::is_reserved("StreamEnd"));
/// assert!(!exws_protocol::message_type::is_reserved("streamend"));
/// ```
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
}

/// The `Type` name of a Rust type: [`type_name`] of [`std::any::type_name`].
///
/// ```
/// struct CalculateRequest;
/// assert_eq!(exws_protocol::type_name_of::<CalculateRequest>(), "CalculateRequest");
/// assert_eq!(exws_protocol::type_name_of::<Vec<String>>(), "Vec");
/// ```
pub fn type_name_of<T: ?Sized>() -> &'static str {
    type_name(std::any::type_name::<T>())
}

/// The naming rule on a type's path as text: drop everything from the first `<`, keep what
/// follows the last `:`, without surrounding whitespace. `a::b::Name<c::D>` is `Name`.
///
/// A byte scan without allocation: the server runs it for every push.
///
/// ```
/// assert_eq!(exws_protocol::type_name("api::v1::Calc<u8>"), "Calc");
/// assert_eq!(exws_protocol::type_name("Plain"), "Plain");
/// ```
pub fn type_name(path: &str) -> &str {
    let bytes = path.as_bytes();
    let end = bytes
        .iter()
        .position(|&byte| byte == b'<')
        .unwrap_or(bytes.len());
    let start = bytes[..end]
        .iter()
        .rposition(|&byte| byte == b':')
        .map_or(0, |colon| colon + 1);
    path[start..end].trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    mod api {
        pub(super) struct CalculateResponse<T>(#[allow(dead_code)] pub T);
    }

    #[test]
    fn names_types_by_their_last_segment_without_generics() {
        assert_eq!(
            type_name_of::<api::CalculateResponse<Vec<u8>>>(),
            "CalculateResponse"
        );
        assert_eq!(type_name_of::<u32>(), "u32");
        assert_eq!(type_name_of::<String>(), "String");
        assert_eq!(type_name("a::b::C<d::E>"), "C");
        assert_eq!(type_name("Plain"), "Plain");
    }

    #[test]
    fn names_written_paths_as_type_name_does() {
        // The macros see the path as written, tokens spaced.
        assert_eq!(type_name("api :: v1 :: Calc < u8 >"), "Calc");
        assert_eq!(type_name("::std::string::String"), "String");
    }

    #[test]
    fn reserves_exactly_the_protocol_types() {
        assert_eq!(RESERVED, ["Error", "StreamEnd", "StreamCancel"]);
        assert!(RESERVED.iter().all(|name| is_reserved(name)));
        assert!(!is_reserved("Errors"));
    }
}
