//! `Sec-WebSocket-Protocol` negotiation (RFC 6455 section 4.2.2).

use super::HandshakeRequest;

/// What the server answers a client's subprotocol list with.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    /// The client asked for none: none is chosen.
    None,
    /// The first of the client's protocols (its order of preference) that the server speaks.
    Chosen(String),
    /// The client asked only for protocols the server does not speak: the upgrade is refused.
    Unsupported,
}

/// Picks the subprotocol of `request` among `supported`.
pub(crate) fn choose_protocol(request: &HandshakeRequest, supported: &[String]) -> Choice {
    let mut asked = false;
    for protocol in request.requested_protocols() {
        asked = true;
        if supported.iter().any(|known| known == protocol) {
            return Choice::Chosen(protocol.to_owned());
        }
    }
    if asked {
        Choice::Unsupported
    } else {
        Choice::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asking(value: &str) -> HandshakeRequest {
        HandshakeRequest {
            headers: vec![("Sec-WebSocket-Protocol".to_owned(), value.to_owned())],
            ..HandshakeRequest::default()
        }
    }

    #[test]
    fn the_clients_preference_wins_among_supported_protocols() {
        let supported = ["exws.v2".to_owned(), "exws.v1".to_owned()];
        assert_eq!(
            choose_protocol(&asking("mqtt, exws.v1 ,exws.v2"), &supported),
            Choice::Chosen("exws.v1".to_owned())
        );
        assert_eq!(choose_protocol(&asking("mqtt"), &supported), Choice::Unsupported);
        assert_eq!(choose_protocol(&HandshakeRequest::default(), &supported), Choice::None);
        assert_eq!(choose_protocol(&asking("exws.v1"), &[]), Choice::Unsupported);
    }
}
