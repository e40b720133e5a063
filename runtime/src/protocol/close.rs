//! WebSocket close codes exws uses.

/// A WebSocket close code (RFC 6455 section 7.4), as exws reports and sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the server is shutting down (or the client is going away).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1008: policy violation (slow consumer, heartbeat timeout, abuse).
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: a message was larger than the configured limit.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: the server met an internal error.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
}

impl std::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
