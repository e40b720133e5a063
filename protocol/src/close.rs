//! The WebSocket close codes exws sends.

/// A WebSocket close code (RFC 6455 section 7.4), as exws reports and sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the server is shutting down (or the client is going away).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the WebSocket protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1007: a text frame is not valid UTF-8.
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: policy violation (slow consumer, heartbeat timeout, abuse).
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: a message was larger than the configured limit.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: the server met an internal error.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);

    /// Whether an endpoint may send this code in a close frame (RFC 6455 section 7.4 and the
    /// IANA registry): 1000-1003, 1007-1014 and 3000-4999. 1005, 1006 and 1015 only report
    /// what happened and never go on the wire.
    pub fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl std::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::CloseCode;

    #[test]
    fn the_named_codes_are_sendable() {
        for code in [
            CloseCode::NORMAL,
            CloseCode::GOING_AWAY,
            CloseCode::PROTOCOL_ERROR,
            CloseCode::INVALID_PAYLOAD,
            CloseCode::POLICY,
            CloseCode::TOO_BIG,
            CloseCode::INTERNAL_ERROR,
        ] {
            assert!(code.is_sendable(), "{code}");
        }
    }

    #[test]
    fn only_codes_an_endpoint_may_send_are_sendable() {
        for code in [1000, 1001, 1003, 1007, 1008, 1011, 1014, 3000, 4999] {
            assert!(CloseCode(code).is_sendable(), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, u16::MAX] {
            assert!(!CloseCode(code).is_sendable(), "{code}");
        }
    }
}
