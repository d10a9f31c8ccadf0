//! Which address a request came from, when the service runs behind a reverse proxy or load
//! balancer: rate limits, the audit log and each custody event's "from where" need the
//! client's address, not the proxy's.

use std::net::IpAddr;

use ipnet::IpNet;

/// The client's address: the TCP `peer`, unless the peer is one of the `trusted` proxies, in
/// which case `X-Forwarded-For` (`forwarded_for`) is read from the right, past every trusted
/// proxy, to the first address no trusted proxy added. Addresses left of that one were
/// written by the client itself and could say anything, so they are never taken.
///
/// A header that cannot be read, or one made only of trusted addresses, leaves the nearest
/// address that can be trusted to have been seen: the peer's, or the leftmost proxy's.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    if !is_trusted(peer) {
        return peer;
    }
    // Several headers count as one list, in order (RFC 7230 §3.2.2).
    let hops: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            // A malformed entry: nothing left of it can be trusted either.
            return client;
        };
        client = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, with a port (`1.2.3.4:5678`, `[::1]:5678`) or
/// in brackets as some proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = hop.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse().ok())
}

/// Parses the `trusted_proxies` setting: addresses or CIDR ranges, comma-separated
/// (`10.0.0.0/8, 192.168.1.7, fd00::/8`). An empty setting trusts no proxy.
pub fn parse_trusted_proxies(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an address or a CIDR range like 10.0.0.0/8"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(s: &str) -> Vec<IpNet> {
        parse_trusted_proxies(s).unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let got = client_address(ip("203.0.113.9"), &["198.51.100.1"], &[]);
        assert_eq!(got, ip("203.0.113.9"));
        // A trusted list that does not hold the peer changes nothing either.
        let got = client_address(ip("203.0.113.9"), &["198.51.100.1"], &proxies("10.0.0.0/8"));
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        let trusted = proxies("10.0.0.0/8, 127.0.0.1");
        // One load balancer.
        let got = client_address(ip("10.0.0.5"), &["198.51.100.1"], &trusted);
        assert_eq!(got, ip("198.51.100.1"));
        // Two proxies, and an address the client made up on the left.
        let got = client_address(
            ip("127.0.0.1"),
            &["6.6.6.6, 198.51.100.1, 10.1.2.3"],
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.1"));
        // Split over two headers, with ports and brackets.
        let got = client_address(
            ip("10.0.0.5"),
            &["[2001:db8::7]:443", "10.9.9.9:80"],
            &trusted,
        );
        assert_eq!(got, ip("2001:db8::7"));
    }

    #[test]
    fn a_missing_malformed_or_all_trusted_header_keeps_the_nearest_known_address() {
        let trusted = proxies("10.0.0.0/8");
        assert_eq!(
            client_address(ip("10.0.0.5"), &[], &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &["unknown"], &trusted),
            ip("10.0.0.5")
        );
        // Garbage left of a good hop is never reached.
        assert_eq!(
            client_address(ip("10.0.0.5"), &["nonsense, 198.51.100.1"], &trusted),
            ip("198.51.100.1")
        );
        // Garbage right of it stops the walk at the proxy that sent it.
        assert_eq!(
            client_address(ip("10.0.0.5"), &["198.51.100.1, nonsense"], &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &["10.0.0.9, 10.0.0.8"], &trusted),
            ip("10.0.0.9")
        );
    }

    #[test]
    fn the_setting_takes_addresses_and_ranges_and_names_a_bad_one() {
        assert_eq!(proxies("").len(), 0);
        assert_eq!(proxies(" 10.0.0.0/8 , 192.168.1.7,fd00::/8 ").len(), 3);
        assert!(proxies("192.168.1.7")[0].contains(&ip("192.168.1.7")));
        let e = parse_trusted_proxies("10.0.0.0/8, proxy.internal").unwrap_err();
        assert!(e.contains("proxy.internal"), "{e}");
        assert!(parse_trusted_proxies("10.0.0.0/33").is_err());
    }
}
