//! Which names this portal answers to, and which origins may change state: the rules behind the
//! DNS-rebinding check on `Host` and the CSRF check on `Origin`.

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::http::uri::Authority;

/// A host and port as a `Host` header or a `PORTAL_ALLOWED_HOSTS` entry names them: the host in
/// lower case (an IPv6 literal in brackets), the port always explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    host: String,
    port: u16,
}

impl HostPort {
    pub fn new(host: &str, port: u16) -> Self {
        Self {
            host: host.to_ascii_lowercase(),
            port,
        }
    }

    /// `host` or `host:port`; without a port, `default_port`, the default of the public URL's
    /// scheme: behind a TLS proxy a browser's `Host: portal.example` means 443, whatever the
    /// proxy speaks to this server. Userinfo, paths and empty hosts are refused.
    pub fn parse(s: &str, default_port: u16) -> Option<Self> {
        let authority: Authority = s.trim().parse().ok()?;
        if authority.as_str().contains('@') || authority.host().is_empty() {
            return None;
        }
        // `Authority` takes any digits as a port; a port must also fit in 16 bits.
        let port = match authority.as_str().strip_prefix(authority.host())? {
            "" => default_port,
            rest => rest.strip_prefix(':')?.parse().ok()?,
        };
        Some(Self::new(authority.host(), port))
    }

    /// An IP literal or `localhost`. DNS rebinding needs a name the attacker's DNS answers for,
    /// so a page can never be served to a browser from one of these as the attacker's origin:
    /// letting them through keeps health checks by address and local development working.
    pub fn is_address_or_localhost(&self) -> bool {
        self.host == "localhost"
            || self.host.parse::<Ipv4Addr>().is_ok()
            || self
                .host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .is_some_and(|h| h.parse::<Ipv6Addr>().is_ok())
    }

    /// `scheme://host[:port]`, the port left out when it is the scheme's default, as a browser
    /// serialises an `Origin` (RFC 6454 6.2).
    pub fn origin(&self, scheme: &str) -> String {
        if Some(self.port) == default_port(scheme) {
            format!("{scheme}://{}", self.host)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The port a URL of `scheme` means when it names none.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// The names a deployment answers to: the public URL's scheme, host and port, and the extra
/// hosts of `PORTAL_ALLOWED_HOSTS`, which are reached with the same scheme.
#[derive(Debug, Clone)]
pub struct Hosts<'a> {
    pub scheme: &'a str,
    pub public: HostPort,
    pub extra: &'a [HostPort],
}

impl Hosts<'_> {
    /// The port a `Host` without one means.
    pub fn default_port(&self) -> u16 {
        default_port(self.scheme).unwrap_or(80)
    }

    /// Does a request that names `host` reach this portal by a name it owns? A DNS-rebinding
    /// page talks to this server under the attacker's own name, which the browser puts in `Host`;
    /// refusing names it does not own is the defence, answered 421 Misdirected Request (RFC 9110
    /// 7.4: a server refuses a request whose target it is not configured to serve).
    pub fn accepts(&self, host: &HostPort) -> bool {
        host.is_address_or_localhost() || *host == self.public || self.extra.contains(host)
    }

    /// Is `origin` (an `Origin` header) one of this portal's own origins? The public origin, an
    /// extra host's origin, or, for a visit by address or `localhost`, the origin of the address
    /// visited (`addressed`, the request's `Host`): a page that sends that is the portal itself.
    /// Always with the public URL's scheme: on an https deployment an `http://` page of the same
    /// host is a different origin that anyone on the network can write (OWASP CSRF Prevention
    /// Cheat Sheet, "Verifying Origin With Standard Headers").
    pub fn is_own_origin(&self, origin: &str, addressed: Option<&HostPort>) -> bool {
        origin == self.public.origin(self.scheme)
            || self.extra.iter().any(|h| origin == h.origin(self.scheme))
            || addressed
                .is_some_and(|a| a.is_address_or_localhost() && origin == a.origin(self.scheme))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(s: &str) -> HostPort {
        HostPort::parse(s, 443).unwrap_or_else(|| panic!("{s}"))
    }

    fn hosts(extra: &[HostPort]) -> Hosts<'_> {
        Hosts {
            scheme: "https",
            public: HostPort::new("portal.test", 443),
            extra,
        }
    }

    #[test]
    fn host_headers_parse_into_a_host_and_an_explicit_port() {
        assert_eq!(hp("Portal.Test"), HostPort::new("portal.test", 443));
        assert_eq!(hp("portal.test:8443"), HostPort::new("portal.test", 8443));
        assert_eq!(hp("[::1]:3000"), HostPort::new("[::1]", 3000));
        for bad in [
            "",
            "user@portal.test",
            "portal.test/x",
            "portal.test:99999",
            " : ",
        ] {
            assert_eq!(HostPort::parse(bad, 443), None, "{bad:?}");
        }
    }

    #[test]
    fn only_the_public_name_extra_names_addresses_and_localhost_are_accepted() {
        let extra = [hp("second.test")];
        let h = hosts(&extra);
        for ok in [
            "portal.test",
            "portal.test:443",
            "second.test",
            "127.0.0.1:3000",
            "[::1]",
            "localhost:3000",
        ] {
            assert!(h.accepts(&hp(ok)), "{ok}");
        }
        for refused in [
            "evil.example",
            "portal.test:8443",
            "portal.test.evil.example",
            "1.2.3.4.evil.example",
            "localhost.evil.example",
        ] {
            assert!(!h.accepts(&hp(refused)), "{refused}");
        }
    }

    #[test]
    fn own_origins_carry_the_public_scheme() {
        let extra = [hp("second.test")];
        let h = hosts(&extra);
        assert!(h.is_own_origin("https://portal.test", None));
        assert!(h.is_own_origin("https://second.test", None));
        assert!(!h.is_own_origin("http://portal.test", Some(&hp("portal.test"))));
        assert!(!h.is_own_origin("https://portal.test:8443", None));
        let by_address = hp("10.0.0.5:3000");
        assert!(h.is_own_origin("https://10.0.0.5:3000", Some(&by_address)));
        assert!(!h.is_own_origin("http://10.0.0.5:3000", Some(&by_address)));
        // An address is only its own origin, never another address's.
        assert!(!h.is_own_origin("https://203.0.113.7", Some(&by_address)));
        assert!(!h.is_own_origin("null", None));
    }
}
