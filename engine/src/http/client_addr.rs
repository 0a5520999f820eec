//! The client address used for throttling, behind any number of trusted reverse proxies.
//!
//! Each proxy appends the address it received the request from to `X-Forwarded-For`, so the
//! entries on the right were written by our own proxies and the left-most ones by whoever sent
//! the request (anything at all). Walking from the right and skipping our proxies, the first
//! address that is not one of them is the one that connected to our outermost proxy: the client.
//! Without trusted proxies the header is ignored and the TCP peer is the client.

use std::net::IpAddr;

use ipnet::IpNet;

/// `10.0.0.0/8`, `::1/128`, or a bare address (one host).
pub fn parse_cidr(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from)).map(|net| net.trunc())
}

/// The parsed `server.trusted_proxies`.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Entries that do not parse are left out (`Config::validate` refuses them at start-up).
    pub fn new(cidrs: &[String]) -> Self {
        Self(cidrs.iter().filter_map(|c| parse_cidr(c)).collect())
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer` carrying these `X-Forwarded-For` values (in
    /// header order). A peer that is not a trusted proxy is the client, whatever it claims; an
    /// entry that is not an address stops the walk (a proxy of ours would not write it), and the
    /// last trusted hop is then the best we know.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        let entries = forwarded_for.iter().flat_map(|value| value.split(',')).collect::<Vec<_>>();
        for entry in entries.into_iter().rev() {
            let Ok(ip) = entry.trim().parse::<IpAddr>() else { break };
            client = ip.to_canonical();
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let proxies = TrustedProxies::new(&["10.0.0.0/8".into(), "127.0.0.1".into()]);
        // The client wrote a fake left-most entry; our two proxies appended what they saw.
        let forwarded = ["6.6.6.6, 203.0.113.9", "10.1.2.3"];
        assert_eq!(proxies.client(ip("127.0.0.1"), &forwarded), ip("203.0.113.9"));
        // An untrusted peer is the client, whatever it says.
        assert_eq!(proxies.client(ip("198.51.100.1"), &forwarded), ip("198.51.100.1"));
        // No header behind a proxy: the proxy is all we know.
        assert_eq!(proxies.client(ip("10.9.9.9"), &[]), ip("10.9.9.9"));
        // Garbage stops the walk at the last good hop.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["203.0.113.9, junk, 10.0.0.2"]), ip("10.0.0.2"));
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::new(&[]);
        assert_eq!(none.client(ip("127.0.0.1"), &["203.0.113.9"]), ip("127.0.0.1"));
        assert_eq!(none.client(ip("::ffff:127.0.0.1"), &[]), ip("127.0.0.1"));
    }

    #[test]
    fn cidrs_and_bare_addresses_parse() {
        assert!(parse_cidr("10.0.0.0/8").is_some());
        assert!(parse_cidr("::1").is_some());
        assert!(parse_cidr("fd00::/8").is_some());
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("proxy.local").is_none());
    }
}
