//! Who is calling: the client's address, taken from the connection, or from
//! `X-Forwarded-For` only when the connection comes from a trusted proxy.
//!
//! Rate limits count what this module says, so a client must not be able to
//! choose it: the chain is read from the right, and the first hop that is not
//! a trusted proxy is the client. Everything to its left is the client's own
//! claim and is ignored.

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Proxies whose `X-Forwarded-For` is believed: addresses or CIDR blocks.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parse `10.0.0.0/8,127.0.0.1,::1` (empty: trust nobody).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (ip, bits) = match item.split_once('/') {
                Some((ip, bits)) => (ip, Some(bits)),
                None => (item, None),
            };
            let ip: IpAddr = ip
                .parse()
                .map_err(|_| format!("{item:?} is not an address or CIDR block"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or(format!("{item:?}: bad prefix length"))?,
                None => max,
            };
            out.push((ip, bits));
        }
        Ok(Self(out))
    }

    /// True when `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|(net, bits)| match (canonical(*net), ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if *bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(*bits))
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if *bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(*bits))
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        })
    }

    /// The client's address: the connection's `peer`, or — when the peer is
    /// a trusted proxy — the right-most address in `X-Forwarded-For` that is
    /// not a trusted proxy. A chain that cannot be parsed from the right
    /// stops there: what is left of an unreadable hop is not believed.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        for hop in forwarded_for.unwrap_or_default().rsplit(',').map(str::trim) {
            if hop.is_empty() {
                continue;
            }
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = canonical(ip);
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, from dual-stack sockets)
/// are the IPv4 address they carry, so one client is one key.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Extractor: the calling client's address, per the state's
/// [`TrustedProxies`]. Without connection information (a router called
/// in-process, as in `oneshot` tests) the peer counts as `0.0.0.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl<S> FromRequestParts<S> for ClientAddress
where
    S: Send + Sync,
    TrustedProxies: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        // Several X-Forwarded-For headers are one list, in order (RFC 9110).
        let chain: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let chain = chain.join(",");
        let trusted = TrustedProxies::from_ref(state);
        Ok(Self(trusted.client(peer, Some(&chain))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").expect("valid");
        let client = ip("203.0.113.7");
        let proxy = ip("127.0.0.1");
        assert_eq!(trusted.client(proxy, Some("203.0.113.7")), client);
        assert_eq!(
            trusted.client(proxy, Some("198.51.100.1, 203.0.113.7, 10.1.2.3")),
            client,
            "spoofed left part ignored"
        );
        assert_eq!(
            trusted.client(client, Some("1.2.3.4")),
            client,
            "untrusted peers cannot claim another address"
        );
        assert_eq!(trusted.client(proxy, None), proxy);
        assert!(TrustedProxies::parse("not-an-ip").is_err());
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn an_unreadable_hop_ends_the_chain_and_mapped_addresses_are_ipv4() {
        let trusted = TrustedProxies::parse("127.0.0.1").expect("valid");
        let proxy = ip("127.0.0.1");
        assert_eq!(
            trusted.client(proxy, Some("198.51.100.1, garbage")),
            proxy,
            "nothing left of an unreadable hop is believed"
        );
        assert_eq!(
            trusted.client(ip("::ffff:127.0.0.1"), Some("203.0.113.9")),
            ip("203.0.113.9")
        );
        assert_eq!(trusted.client(ip("::ffff:198.51.100.2"), None), ip("198.51.100.2"));
    }

    #[test]
    fn nobody_is_trusted_by_default() {
        let trusted = TrustedProxies::default();
        assert_eq!(trusted.client(ip("127.0.0.1"), Some("203.0.113.7")), ip("127.0.0.1"));
    }
}
