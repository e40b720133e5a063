//! The client's address behind reverse proxies: `Forwarded` (RFC 7239) and `X-Forwarded-For`,
//! believed only when the peer is a proxy the server trusts.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// The proxies whose forwarding headers the server believes: addresses (`10.0.0.7`, `::1`) and
/// networks (`10.0.0.0/8`). Give them to [`Server::trusted_proxies`](crate::Server::trusted_proxies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrustedProxies {
    networks: Vec<IpNet>,
}

/// A trusted proxy that is neither an address nor a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or network: use e.g. 10.0.0.7, ::1 or 10.0.0.0/8")]
pub(crate) struct InvalidProxy(pub String);

impl TrustedProxies {
    /// Parses addresses and networks; the first that is neither is the error.
    pub(crate) fn parse<I, S>(proxies: I) -> Result<Self, InvalidProxy>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let networks = proxies
            .into_iter()
            .map(|proxy| {
                let proxy = proxy.as_ref().trim();
                IpNet::from_str(proxy)
                    .or_else(|_| IpAddr::from_str(proxy).map(IpNet::from))
                    .map_err(|_| InvalidProxy(proxy.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { networks })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks.iter().any(|network| network.contains(&ip))
    }

    /// The client's address for a request from `peer` with `headers`: `peer` itself unless it
    /// is trusted; else the nearest address in the forwarding chain that is not a trusted
    /// proxy (`Forwarded` first, then `X-Forwarded-For`). A chain that ends in something
    /// unparsable (`unknown`, an obfuscated name) stops there, at the last trusted hop.
    pub(crate) fn client_addr<'a>(
        &self,
        peer: SocketAddr,
        headers: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> SocketAddr {
        if !self.trusts(peer.ip()) {
            return peer;
        }
        let forwarded: Vec<Option<SocketAddr>> = headers
            .clone()
            .filter(|(name, _)| name.eq_ignore_ascii_case("forwarded"))
            .flat_map(|(_, value)| value.split(','))
            .filter_map(forwarded_for)
            .collect();
        let chain = if forwarded.is_empty() {
            headers
                .filter(|(name, _)| name.eq_ignore_ascii_case("x-forwarded-for"))
                .flat_map(|(_, value)| value.split(','))
                .map(|hop| parse_node(hop.trim()))
                .collect()
        } else {
            forwarded
        };
        let mut client = peer;
        // From the nearest hop (the last) to the farthest.
        for hop in chain.into_iter().rev() {
            match hop {
                Some(addr) if self.trusts(addr.ip()) => client = addr,
                Some(addr) => return addr,
                None => return client,
            }
        }
        client
    }
}

/// The `for=` node of one `Forwarded` element, if it has one: `Some(None)` when it is not an
/// address.
fn forwarded_for(element: &str) -> Option<Option<SocketAddr>> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(value.trim().trim_matches('"')))
    })
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:443`, `::1`.
fn parse_node(node: &str) -> Option<SocketAddr> {
    if let Ok(addr) = SocketAddr::from_str(node) {
        return Some(addr);
    }
    let bare = node.trim_start_matches('[').trim_end_matches(']');
    IpAddr::from_str(bare).ok().map(|ip| SocketAddr::new(ip, 0))
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, what a dual-stack socket reports) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        SocketAddr::from_str(text).unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap_or_default()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let headers = [("X-Forwarded-For", "1.2.3.4")];
        assert_eq!(
            trusted.client_addr(addr("192.0.2.9:5000"), headers.iter().copied()),
            addr("192.0.2.9:5000")
        );
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "127.0.0.1"]);
        let headers = [("X-Forwarded-For", "6.6.6.6, 1.2.3.4, 10.1.1.1")];
        assert_eq!(
            trusted
                .client_addr(addr("127.0.0.1:9000"), headers.iter().copied())
                .ip(),
            addr("1.2.3.4:0").ip(),
            "a spoofed first hop is not believed"
        );
    }

    #[test]
    fn forwarded_is_preferred_and_understands_ports_and_ipv6() {
        let trusted = proxies(&["127.0.0.1"]);
        let headers = [
            ("X-Forwarded-For", "9.9.9.9"),
            (
                "Forwarded",
                r#"for="[2001:db8::7]:4711";proto=https, for=127.0.0.1"#,
            ),
        ];
        assert_eq!(
            trusted.client_addr(addr("127.0.0.1:9000"), headers.iter().copied()),
            addr("[2001:db8::7]:4711")
        );
        let unknown = [("Forwarded", "for=unknown")];
        assert_eq!(
            trusted.client_addr(addr("127.0.0.1:9000"), unknown.iter().copied()),
            addr("127.0.0.1:9000")
        );
    }

    #[test]
    fn invalid_proxies_are_named() {
        assert_eq!(
            TrustedProxies::parse(["10.0.0.0/8", "proxy.local"]),
            Err(InvalidProxy("proxy.local".to_owned()))
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_proxies() {
        let mapped: IpAddr = "::ffff:10.0.0.1"
            .parse()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert!(proxies(&["10.0.0.1"]).trusts(mapped));
        assert!(!proxies(&["10.0.0.2"]).trusts(mapped));
    }
}
