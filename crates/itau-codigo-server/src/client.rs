//! Who the client is: the TCP peer, unless the peer is a trusted proxy (a gateway or
//! load balancer in `--trusted-proxies`); then the right-most address of its
//! `X-Forwarded-For` (or, without one, RFC 7239 `Forwarded: for=`) that is not itself
//! a trusted proxy. An untrusted peer's forwarding headers are ignored, and a header
//! that cannot be read gives the peer: never a 400.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use actix_web::http::header::HeaderMap;

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address (`/32`, `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a `--trusted-proxies` entry is not a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an address block (expected e.g. 10.0.0.0/8, 2001:db8::/32 or 192.0.2.7)")]
pub struct CidrError {
    input: String,
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(input: &str) -> Result<Self, CidrError> {
        let error = || CidrError {
            input: input.to_owned(),
        };
        let (address, prefix) = match input.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (input, None),
        };
        let address: IpAddr = address.parse().map_err(|_| error())?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            // Digits only: `u8::from_str` would take a `+`.
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| error())?
            }
            Some(_) => return Err(error()),
        };
        if prefix > bits {
            return Err(error());
        }
        Ok(Self {
            network: mask(address, prefix),
            prefix,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    /// Whether `address` is in this block (an IPv4-mapped IPv6 address counts as IPv4).
    pub(crate) fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.network.is_ipv4() && mask(address, self.prefix) == self.network
    }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((v4.to_bits() & keep).into())
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((v6.to_bits() & keep).into())
        }
    }
}

/// The proxies whose forwarding headers are believed (`--trusted-proxies`); none by
/// default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl FromStr for TrustedProxies {
    type Err = CidrError;

    /// A comma-separated list of blocks; an empty string is none.
    fn from_str(input: &str) -> Result<Self, CidrError> {
        input
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(Cidr::from_str)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, cidr) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{cidr}")?;
        }
        Ok(())
    }
}

impl TrustedProxies {
    /// Whether `address` is a trusted proxy.
    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(address))
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let forwarded_for = headers.get_all("x-forwarded-for");
        let found = if headers.contains_key("x-forwarded-for") {
            self.right_most_untrusted(forwarded_for.map(|v| v.as_bytes()), Header::XForwardedFor)
        } else if headers.contains_key("forwarded") {
            let values = headers.get_all("forwarded").map(|v| v.as_bytes());
            self.right_most_untrusted(values, Header::Forwarded)
        } else {
            None
        };
        found.unwrap_or(peer)
    }

    /// Walks the hops of every value of one header, right to left: the first that is
    /// not trusted is the client; when all are trusted, the left-most. `None` when a
    /// hop met on the way cannot be read.
    fn right_most_untrusted<'h>(
        &self,
        values: impl DoubleEndedIterator<Item = &'h [u8]>,
        header: Header,
    ) -> Option<IpAddr> {
        let mut left_most = None;
        for value in values.rev() {
            // Only the hops met on the way are read: what a client wrote to the left of
            // the entry its gateway appended (a stray quote, bytes that are no UTF-8)
            // cannot hide that entry.
            for hop in hops_from_the_right(value, header) {
                let hop = std::str::from_utf8(hop).ok()?;
                let address = match header {
                    Header::XForwardedFor => node(hop.trim())?,
                    Header::Forwarded => forwarded_for(hop)?,
                };
                if !self.contains(address) {
                    return Some(address);
                }
                left_most = Some(address);
            }
        }
        left_most
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    XForwardedFor,
    Forwarded,
}

/// The comma-separated hops of one header value, right-most first. `Forwarded` may
/// quote a comma; its quotes are followed from the right, so that an unbalanced quote
/// on the left (the client's part) does not swallow the hops proxies appended.
/// `X-Forwarded-For` has no quoting.
fn hops_from_the_right(value: &[u8], header: Header) -> Vec<&[u8]> {
    let mut hops = Vec::new();
    let (mut end, mut quoted) = (value.len(), false);
    for i in (0..value.len()).rev() {
        match value[i] {
            b'"' if header == Header::Forwarded => quoted = !quoted,
            b',' if !quoted => {
                hops.push(&value[i + 1..end]);
                end = i;
            }
            _ => {}
        }
    }
    hops.push(&value[..end]);
    hops
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=https`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim())
    })?;
    let value = match value.strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"')?,
        None => value,
    };
    node(value)
}

/// An address, with or without a port: `192.0.2.7`, `192.0.2.7:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711`. `unknown` and obfuscated names are not
/// addresses.
fn node(text: &str) -> Option<IpAddr> {
    if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
        return port_ok
            .then(|| address.parse::<std::net::Ipv6Addr>().ok())
            .flatten()
            .map(|v6| IpAddr::V6(v6).to_canonical());
    }
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    let (address, port) = text.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    address.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;
    use crate::test_support::headers;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusted(list: &str) -> TrustedProxies {
        list.parse().unwrap()
    }

    #[test]
    fn cidr_blocks_parse_by_hand_and_match_their_addresses() {
        let block: Cidr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(block.to_string(), "10.0.0.0/8");
        assert!(block.contains(ip("10.255.0.1")));
        assert!(!block.contains(ip("11.0.0.1")));
        assert!(block.contains(ip("::ffff:10.0.0.1")));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert_eq!(one.to_string(), "192.0.2.7/32");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("::2")));
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/+8",
            "host/8",
            "10.0.0.0/8/8",
            " 10.0.0.0/8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
        assert_eq!(
            trusted(" 10.0.0.0/8 , ::1 ").to_string(),
            "10.0.0.0/8,::1/128"
        );
        assert_eq!(trusted(""), TrustedProxies::default());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies = trusted("10.0.0.0/8");
        let forged = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.2"),
        ]);
        assert_eq!(
            proxies.client(ip("203.0.113.9"), &forged),
            ip("203.0.113.9")
        );
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &forged),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_right_most_untrusted_hop() {
        let proxies = trusted("10.0.0.0/8,2001:db8::/32");
        let gateway = ip("10.0.0.1");
        let client = |pairs: &[(&str, &str)]| proxies.client(gateway, &headers(pairs));
        // The left-most entries are whatever the client sent: never believed.
        assert_eq!(
            client(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2")]),
            ip("203.0.113.9")
        );
        // Repeated headers are one list, in order.
        assert_eq!(
            client(&[
                ("x-forwarded-for", "1.1.1.1"),
                ("x-forwarded-for", "203.0.113.9:5555")
            ]),
            ip("203.0.113.9")
        );
        assert_eq!(
            client(&[("x-forwarded-for", "[2001:db9::5]:443")]),
            ip("2001:db9::5")
        );
        assert_eq!(
            client(&[(
                "forwarded",
                r#"for=1.1.1.1, for="[2001:db9::7]:4711";proto=https"#
            )]),
            ip("2001:db9::7")
        );
        assert_eq!(
            client(&[("Forwarded", "For=203.0.113.9:80;by=10.0.0.1, for=10.9.9.9")]),
            ip("203.0.113.9")
        );
        // Every hop trusted: the left-most one.
        assert_eq!(
            client(&[("x-forwarded-for", "10.0.0.7, 10.0.0.2")]),
            ip("10.0.0.7")
        );
        // X-Forwarded-For is read when both are present.
        assert_eq!(
            client(&[
                ("x-forwarded-for", "203.0.113.1"),
                ("forwarded", "for=203.0.113.2")
            ]),
            ip("203.0.113.1")
        );
        // No header: the peer.
        assert_eq!(client(&[]), gateway);
    }

    #[test]
    fn a_malformed_forwarding_header_gives_the_peer() {
        let proxies = trusted("10.0.0.0/8");
        let gateway = ip("10.0.0.1");
        for pairs in [
            [("x-forwarded-for", "not-an-address")],
            [("x-forwarded-for", "203.0.113.9, ")],
            [("x-forwarded-for", "203.0.113.9:")],
            [("x-forwarded-for", "[2001:db8::1")],
            [("forwarded", "for=unknown")],
            [("forwarded", "for=_hidden")],
            [("forwarded", "proto=https")],
            [("forwarded", r#"for="[2001:db8::1]:x""#)],
            [("forwarded", r#"for="203.0.113.9"#)],
        ] {
            assert_eq!(
                proxies.client(gateway, &headers(&pairs)),
                gateway,
                "{pairs:?}"
            );
        }
        // What lies left of the client's entry is never read.
        assert_eq!(
            proxies.client(
                gateway,
                &headers(&[("x-forwarded-for", "garbage, 203.0.113.9")])
            ),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn what_a_client_writes_left_of_its_gateways_entry_cannot_hide_it() {
        let proxies = trusted("10.0.0.0/8");
        let gateway = ip("10.0.0.1");
        let client = ip("203.0.113.9");
        // The gateway appends the address it saw to whatever the client sent.
        for sent in [r#"""#, r#"", x"#, "\"a, b", "for=\"[::1"] {
            let xff = headers(&[("x-forwarded-for", &format!("{sent}, 203.0.113.9"))]);
            assert_eq!(
                proxies.client(gateway, &xff),
                client,
                "X-Forwarded-For {sent:?}"
            );
            let forwarded = headers(&[("forwarded", &format!("{sent}, for=203.0.113.9"))]);
            assert_eq!(
                proxies.client(gateway, &forwarded),
                client,
                "Forwarded {sent:?}"
            );
        }
        let mut raw = HeaderMap::new();
        raw.append(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.9").unwrap(),
        );
        assert_eq!(
            proxies.client(gateway, &raw),
            client,
            "bytes that are no UTF-8"
        );
        // A comma inside a quoted Forwarded value stays inside it.
        let quoted = headers(&[(
            "forwarded",
            r#"for="[2001:db8::1]:4711";by="a,b", for=203.0.113.9"#,
        )]);
        assert_eq!(proxies.client(gateway, &quoted), client);
    }
}
