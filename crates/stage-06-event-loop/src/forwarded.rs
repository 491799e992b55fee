//! Behind a reverse proxy: who the client is, and whether it spoke HTTPS.
//!
//! A proxy in front (nginx) accepts the client's connection, so the
//! server's peer is the proxy. The proxy says who its own peer was by
//! appending it to `X-Forwarded-For`, and which scheme it was reached by
//! in `X-Forwarded-Proto`. Anybody can send these headers, though: they
//! are believed only from the peers `--forwarded-allow-ips` lists (a
//! Unix socket's peer always, as gunicorn does: who may connect to it is
//! decided by the file's permissions), and from those peers they replace
//! `REMOTE_ADDR` and `wsgi.url_scheme`. From any other peer they are left
//! as they are in `HTTP_X_FORWARDED_*`, and changed nothing.
//!
//! Which address in `X-Forwarded-For` is the client: each proxy appends
//! the address it received the request from, so the list reads from the
//! first sender to the last proxy, and everything left of what a trusted
//! proxy appended may have been written by the client itself. The client
//! is therefore the right-most address not itself trusted: walking from
//! the right, trusted proxies are skipped, and the first other address is
//! where the request came into the trusted chain. (Uvicorn applies the
//! header this way; gunicorn uses its trust list for the scheme only and
//! leaves `REMOTE_ADDR` alone.)
//!
//! RFC 7239's `Forwarded` header is not read, on purpose: neither
//! gunicorn nor uvicorn reads it, nginx does not set it, and a proxy that
//! does not set it passes a client's own `Forwarded` through untouched, so
//! a server believing it behind such a proxy would take the client's word
//! for its address. A deployment whose proxy speaks only `Forwarded` can
//! translate it in the proxy.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use stage_02::Request;

/// The peers whose forwarding headers are believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trusted {
    /// `*`: every peer (for a server nobody but the proxy can reach).
    everyone: bool,
    networks: Vec<Network>,
}

/// An address, or a network in CIDR notation (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                same_prefix(&base.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                same_prefix(&base.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` bits of `a` and `b` are equal.
fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let bits = u128::from_be_bytes(padded(a)) ^ u128::from_be_bytes(padded(b));
    let prefix = u32::from(prefix);
    prefix == 0 || bits.checked_shr(128 - prefix).unwrap_or(0) == 0
}

fn padded(octets: &[u8]) -> [u8; 16] {
    let mut out = [0; 16];
    out[..octets.len()].copy_from_slice(octets);
    out
}

/// A `--forwarded-allow-ips` value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTrust(String);

impl fmt::Display for BadTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an IP address or network (like 10.0.0.0/8)",
            self.0
        )
    }
}

impl std::error::Error for BadTrust {}

impl FromStr for Trusted {
    type Err = BadTrust;

    /// `*`, or addresses and networks separated by commas:
    /// `127.0.0.1,::1,10.0.0.0/8`.
    fn from_str(text: &str) -> Result<Trusted, BadTrust> {
        let mut trusted = Trusted {
            everyone: false,
            networks: Vec::new(),
        };
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == "*" {
                trusted.everyone = true;
                continue;
            }
            let bad = || BadTrust(item.to_string());
            let (address, prefix) = match item.split_once('/') {
                Some((address, prefix)) => (address, Some(prefix)),
                None => (item, None),
            };
            let base: IpAddr = address.parse().map_err(|_| bad())?;
            let most = if base.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => most,
                Some(prefix) => prefix.parse().ok().filter(|p| *p <= most).ok_or_else(bad)?,
            };
            trusted.networks.push(Network { base, prefix });
        }
        Ok(trusted)
    }
}

impl Default for Trusted {
    /// Loopback, as gunicorn's default: a proxy on the same machine.
    fn default() -> Trusted {
        "127.0.0.1,::1".parse().expect("the default parses")
    }
}

impl Trusted {
    /// Whether to believe a peer's forwarding headers; `None` is a peer
    /// over a Unix socket, always believed.
    pub fn trusts(&self, peer: Option<IpAddr>) -> bool {
        // ANCHOR: ex-08.1-trusted-peers
        let Some(peer) = peer else {
            return true;
        };
        // An IPv4 client of a socket bound to `[::]` shows as ::ffff:a.b.c.d.
        let peer = peer.to_canonical();
        self.everyone || self.networks.iter().any(|net| net.contains(peer))
        // ANCHOR_END: ex-08.1-trusted-peers
    }
}

/// What a trusted proxy said about the request; `None`s where it said
/// nothing usable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forwarded {
    /// The client's address, for `REMOTE_ADDR`.
    pub client: Option<IpAddr>,
    /// `http` or `https`, for `wsgi.url_scheme`.
    pub scheme: Option<&'static str>,
}

impl Forwarded {
    /// Whether there is anything to apply.
    pub fn is_empty(&self) -> bool {
        self.client.is_none() && self.scheme.is_none()
    }
}

// ANCHOR: forwarded
// ANCHOR: trusted_only
/// What `request`'s forwarding headers say, if `peer` is trusted (`None`
/// is a Unix peer); nothing from anyone else.
pub fn forwarded(request: &Request, peer: Option<IpAddr>, trusted: &Trusted) -> Forwarded {
    // Most requests carry neither header: one look at the names settles
    // it, before any address is compared (a cost every request paid).
    if !request.headers.iter().any(|(name, _)| is_forwarding(name)) || !trusted.trusts(peer) {
        return Forwarded::default();
    }
    Forwarded {
        client: client(request, trusted),
        scheme: scheme(request),
    }
}
// ANCHOR_END: trusted_only

// ANCHOR: rightmost
/// The right-most address in `X-Forwarded-For` that is not a trusted
/// proxy's; the left-most if they all are. Several header lines count as
/// one list, in order. An entry that is not an address (`unknown`, which
/// some proxies write, or garbage) ends the search with no answer: the
/// peer's own address is a truer `REMOTE_ADDR` than a guess past it.
fn client(request: &Request, trusted: &Trusted) -> Option<IpAddr> {
    // ANCHOR: ex-08.2-rightmost
    let entries: Vec<&str> = request
        .header_values("x-forwarded-for")
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut leftmost = None;
    for entry in entries.iter().rev() {
        let address = parse_entry(entry)?;
        if !trusted.trusts(Some(address)) {
            return Some(address);
        }
        leftmost = Some(address);
    }
    leftmost
    // ANCHOR_END: ex-08.2-rightmost
}
// ANCHOR_END: rightmost

/// `X-Forwarded-For` or `X-Forwarded-Proto`, in any case.
fn is_forwarding(name: &str) -> bool {
    name.len() >= 15
        && name
            .get(..12)
            .is_some_and(|start| start.eq_ignore_ascii_case("x-forwarded-"))
        && (name[12..].eq_ignore_ascii_case("for") || name[12..].eq_ignore_ascii_case("proto"))
}

/// `X-Forwarded-Proto`, as the nearest proxy wrote it (its last entry).
fn scheme(request: &Request) -> Option<&'static str> {
    let value = request.header_values("x-forwarded-proto").last()?;
    let last = value.rsplit(',').next()?.trim();
    ["http", "https"]
        .into_iter()
        .find(|scheme| last.eq_ignore_ascii_case(scheme))
}
// ANCHOR_END: forwarded

/// Puts what a trusted proxy said into a request's `environ`. A client's
/// address replaces the proxy's, and the proxy's port goes with it: it is
/// not the client's.
pub fn apply(environ: &Bound<'_, PyDict>, forwarded: &Forwarded) -> PyResult<()> {
    if let Some(client) = forwarded.client {
        environ.set_item("REMOTE_ADDR", client.to_string())?;
        if environ.contains("REMOTE_PORT")? {
            environ.del_item("REMOTE_PORT")?;
        }
    }
    if let Some(scheme) = forwarded.scheme {
        environ.set_item("wsgi.url_scheme", scheme)?;
    }
    Ok(())
}

/// An address as proxies write them: `192.0.2.1`, `2001:db8::1`, and,
/// with a port, `192.0.2.1:4711` or `[2001:db8::1]:4711`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(address) = entry.parse() {
        return Some(address);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (address, port) = entry.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    address.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use stage_02::{Limits, Parsed, parse_request};

    use super::*;

    fn request(headers: &str) -> Request {
        let head = format!("GET / HTTP/1.1\r\nHost: t\r\n{headers}\r\n");
        match parse_request(head.as_bytes(), &Limits::default()) {
            Ok(Parsed::Complete { request, .. }) => request,
            other => panic!("{head:?} does not parse: {other:?}"),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_the_two_header_names_count_in_any_case() {
        for name in ["X-Forwarded-For", "x-forwarded-proto", "X-FORWARDED-FOR"] {
            assert!(is_forwarding(name), "{name}");
        }
        for name in [
            "X-Forwarded-Host",
            "X-Forwarded-",
            "Forwarded",
            "X-Forwarded-Fo",
            "Host",
        ] {
            assert!(!is_forwarding(name), "{name}");
        }
        let everyone: Trusted = "*".parse().unwrap();
        let plain = forwarded(&request(""), Some(ip("127.0.0.1")), &everyone);
        assert!(plain.is_empty());
        let proxied = request("X-FORWARDED-PROTO: https\r\n");
        assert_eq!(
            forwarded(&proxied, Some(ip("127.0.0.1")), &everyone).scheme,
            Some("https")
        );
    }

    fn trusted(text: &str) -> Trusted {
        text.parse().unwrap()
    }

    #[test]
    fn the_trust_list_takes_addresses_networks_and_a_star() {
        let list = trusted(" 127.0.0.1, ::1 ,10.0.0.0/8,192.168.1.0/24,");
        for yes in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "192.168.1.200",
            "::ffff:10.9.9.9",
        ] {
            assert!(list.trusts(Some(ip(yes))), "{yes}");
        }
        for no in ["127.0.0.2", "11.0.0.1", "192.168.2.1", "::2", "2001:db8::1"] {
            assert!(!list.trusts(Some(ip(no))), "{no}");
        }
        assert!(list.trusts(None), "a Unix socket's peer is trusted");
        assert!(trusted("*").trusts(Some(ip("203.0.113.9"))));
        assert!(trusted("2001:db8::/32").trusts(Some(ip("2001:db8:1::5"))));
        assert!(trusted("0.0.0.0/0").trusts(Some(ip("203.0.113.9"))));
        assert!(!trusted("").trusts(Some(ip("127.0.0.1"))), "empty: nobody");
        let default = Trusted::default();
        assert!(default.trusts(Some(ip("127.0.0.1"))) && default.trusts(Some(ip("::1"))));
        assert!(!default.trusts(Some(ip("192.0.2.1"))));
    }

    #[test]
    fn a_bad_trust_list_is_refused() {
        for bad in ["localhost", "10.0.0.0/33", "::1/129", "10.0.0.1/x", "1.2.3"] {
            assert!(bad.parse::<Trusted>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_trusted_proxy_gives_the_client_and_scheme() {
        let from_proxy = request("X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n");
        let seen = forwarded(&from_proxy, Some(ip("127.0.0.1")), &Trusted::default());
        assert_eq!(
            seen,
            Forwarded {
                client: Some(ip("203.0.113.7")),
                scheme: Some("https"),
            }
        );
        // Over a Unix socket as well.
        assert_eq!(forwarded(&from_proxy, None, &Trusted::default()), seen);
    }

    #[test]
    fn an_untrusted_peer_changes_nothing() {
        let spoofed = request("X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n");
        let seen = forwarded(&spoofed, Some(ip("198.51.100.4")), &Trusted::default());
        assert!(seen.is_empty(), "{seen:?}");
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let list = trusted("127.0.0.1,10.0.0.0/8");
        let client =
            |headers: &str| forwarded(&request(headers), Some(ip("127.0.0.1")), &list).client;
        // The client wrote the first entry itself; the edge proxy (trusted)
        // appended the address it saw, 203.0.113.7; an inner proxy (10.x)
        // appended the edge's.
        assert_eq!(
            client("X-Forwarded-For: 1.2.3.4, 203.0.113.7, 10.0.0.5\r\n"),
            Some(ip("203.0.113.7"))
        );
        // Two header lines are one list.
        assert_eq!(
            client("X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-For: 203.0.113.7,10.0.0.5\r\n"),
            Some(ip("203.0.113.7"))
        );
        // A proxy that adds a line of its own rather than appending to
        // the last one: the walk goes on into the earlier lines.
        assert_eq!(
            client("X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 10.0.0.5\r\n"),
            Some(ip("203.0.113.7"))
        );
        // All trusted: the furthest one known.
        assert_eq!(
            client("X-Forwarded-For: 10.0.0.9, 10.0.0.5\r\n"),
            Some(ip("10.0.0.9"))
        );
        // Ports and brackets, as some proxies write them.
        assert_eq!(
            client("X-Forwarded-For: 203.0.113.7:5555\r\n"),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            client("X-Forwarded-For: [2001:db8::7]:5555\r\n"),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            client("X-Forwarded-For: 2001:db8::7\r\n"),
            Some(ip("2001:db8::7"))
        );
        // Not an address where the client should be: no answer, rather
        // than a guess further left.
        assert_eq!(client("X-Forwarded-For: 1.2.3.4, unknown\r\n"), None);
        assert_eq!(client("X-Forwarded-For: \r\n"), None);
        assert_eq!(client(""), None);
    }

    #[test]
    fn the_scheme_is_http_or_https_from_the_nearest_proxy() {
        let scheme = |headers: &str| forwarded(&request(headers), None, &Trusted::default()).scheme;
        assert_eq!(scheme("X-Forwarded-Proto: HTTPS\r\n"), Some("https"));
        assert_eq!(scheme("X-Forwarded-Proto: https, http\r\n"), Some("http"));
        assert_eq!(scheme("X-Forwarded-Proto: gopher\r\n"), None);
        assert_eq!(scheme(""), None);
    }

    #[test]
    fn underscored_names_are_not_forwarding_headers() {
        // environ drops these names (stage-04's http_key), and so does
        // this: a client cannot slip one past a proxy that sets the
        // dashed name.
        let sneaky = request("X_Forwarded_For: 203.0.113.7\r\nX_Forwarded_Proto: https\r\n");
        assert!(forwarded(&sneaky, None, &Trusted::default()).is_empty());
    }
}
