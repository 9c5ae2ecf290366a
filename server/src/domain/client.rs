//! Who a request comes from: the client address behind trusted reverse proxies, and the key
//! every per-address limit counts under.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// The header a trusted reverse proxy records the client's address in. Only one is read: a
/// proxy that appends to `X-Forwarded-For` passes a client's own `Forwarded` header through
/// untouched, so reading both would let the client choose its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIpHeader {
    XForwardedFor,
    Forwarded,
}

/// The client's address. `peer` is the TCP peer; `header_values` are the lines of the
/// configured forwarding header in the order received. Only when the peer is a trusted proxy is
/// the header read, right to left, each trusted hop skipped: the first untrusted address is the
/// client, since everything left of it was written by someone no proxy vouches for (OWASP
/// "IP address spoofing via X-Forwarded-For"). A malformed entry ends the walk at the last hop
/// that could be read. IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are the IPv4 client they
/// carry ([`IpAddr::to_canonical`]).
pub fn client_addr(
    peer: IpAddr,
    trusted: &[IpNet],
    header: ClientIpHeader,
    header_values: &[&str],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut current = peer.to_canonical();
    let hops = header_values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty());
    for hop in hops.rev() {
        if !is_trusted(&current) {
            break;
        }
        let parsed = match header {
            ClientIpHeader::XForwardedFor => parse_addr(hop),
            ClientIpHeader::Forwarded => forwarded_for(hop),
        };
        let Some(ip) = parsed else { break };
        current = ip.to_canonical();
    }
    current
}

/// The `for=` parameter of one `Forwarded` element (RFC 7239), when it is an address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_addr(v.trim().trim_matches('"')))
            .flatten()
    })
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:443`.
fn parse_addr(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The key per-address limits count under: the address for IPv4, its /64 for IPv6, since one
/// subscriber is routinely given a whole /64 and could otherwise rotate through 2^64 buckets.
pub fn rate_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
    }
}

/// Where a request came from: the client's address and browser, for the audit log, rate limits
/// and confirmation emails.
#[derive(Debug, Clone)]
pub struct Client {
    /// The client's address: the TCP peer, or behind a trusted proxy the address it forwarded.
    pub ip: String,
    /// What per-address limits count under (the address; an IPv6 client's /64).
    pub rate_key: String,
    pub user_agent: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const XFF: ClientIpHeader = ClientIpHeader::XForwardedFor;

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let got = client_addr(ip("203.0.113.9"), &nets(&["10.0.0.0/8"]), XFF, &["1.1.1.1"]);
        assert_eq!(got, ip("203.0.113.9"));
        assert_eq!(
            client_addr(ip("10.0.0.1"), &[], XFF, &["1.1.1.1"]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client sent "6.6.6.6" itself; the proxy appended the real peer it saw.
        let got = client_addr(
            ip("10.0.0.2"),
            &trusted,
            XFF,
            &["6.6.6.6, 198.51.100.7", "10.0.0.5"],
        );
        assert_eq!(got, ip("198.51.100.7"));
        // Every hop trusted: the leftmost one is the best there is.
        assert_eq!(
            client_addr(ip("10.0.0.2"), &trusted, XFF, &["10.1.1.1"]),
            ip("10.1.1.1")
        );
        // No header at all: the proxy itself.
        assert_eq!(
            client_addr(ip("10.0.0.2"), &trusted, XFF, &[]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn a_malformed_hop_ends_the_walk_at_the_last_readable_one() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = client_addr(
            ip("10.0.0.2"),
            &trusted,
            XFF,
            &["1.2.3.4, garbage, 10.0.0.3"],
        );
        assert_eq!(got, ip("10.0.0.3"));
    }

    #[test]
    fn forwarded_elements_are_read_with_ports_brackets_and_quotes() {
        let trusted = nets(&["127.0.0.1/32"]);
        let h = ClientIpHeader::Forwarded;
        let got = client_addr(
            ip("127.0.0.1"),
            &trusted,
            h,
            &[r#"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711""#],
        );
        assert_eq!(got, ip("2001:db8:cafe::17"));
        assert_eq!(
            client_addr(ip("127.0.0.1"), &trusted, h, &["for=unknown"]),
            ip("127.0.0.1")
        );
        assert_eq!(parse_addr("192.0.2.1:8080"), Some(ip("192.0.2.1")));
    }

    #[test]
    fn ipv6_clients_share_a_key_per_64_and_mapped_ipv4_is_ipv4() {
        assert_eq!(rate_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(
            rate_key(ip("2001:db8:1:2:ffff::9")),
            rate_key(ip("2001:db8:1:2::1"))
        );
        assert_ne!(
            rate_key(ip("2001:db8:1:3::1")),
            rate_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(rate_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
    }
}
