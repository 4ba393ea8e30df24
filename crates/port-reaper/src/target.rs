//! What the user asked about (`PORT`, `ADDR:PORT`, `[V6]:PORT`) and which
//! sockets conflict with it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use selfheal_core::socket::Proto;

/// A port, optionally on one local address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub addr: Option<IpAddr>,
    pub port: u16,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.addr {
            None => write!(f, "{}", self.port),
            Some(IpAddr::V4(a)) => write!(f, "{a}:{}", self.port),
            Some(IpAddr::V6(a)) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// Parses `8080`, `127.0.0.1:8080`, `[::1]:8080` or `[::]:8080`.
pub fn parse(text: &str) -> Result<Target, String> {
    if text.starts_with('[') && text.ends_with(']') {
        return Err(format!(
            "{text:?} has no port: give [IPV6]:PORT, e.g. {text}:8080"
        ));
    }
    if !text.ends_with(|c: char| c.is_ascii_digit()) || text.contains('+') {
        return Err(format!(
            "{text:?} is not a port: give PORT (1-65535), ADDR:PORT or [IPV6]:PORT"
        ));
    }
    let (addr, port) = match text.rsplit_once(':') {
        None => (None, text),
        Some((host, port)) => (Some(parse_addr(host, text)?), port),
    };
    let port: u16 = port.parse().map_err(|_| {
        format!("{text:?} is not a port: give PORT (1-65535), ADDR:PORT or [IPV6]:PORT")
    })?;
    if port == 0 {
        return Err("port 0 is not a port anything can hold: give 1-65535".into());
    }
    Ok(Target { addr, port })
}

fn parse_addr(host: &str, whole: &str) -> Result<IpAddr, String> {
    let bracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let parsed = match bracketed {
        Some(inner) => inner.parse::<Ipv6Addr>().map(IpAddr::V6).ok(),
        None => host.parse::<Ipv4Addr>().map(IpAddr::V4).ok(),
    };
    if let Some(IpAddr::V6(v6)) = parsed
        && v6.is_unicast_link_local()
    {
        // Without its interface it cannot be bound, so "is it ours?" has no answer.
        return Err(format!(
            "{whole:?}: {v6} is link-local, which needs an interface zone port-reaper does not take: give the port alone to cover every address"
        ));
    }
    parsed.ok_or_else(|| {
        format!(
            "{whole:?}: {host:?} is not an IP address (IPv4 as 127.0.0.1:8080, IPv6 in brackets as [::1]:8080; names are not resolved)"
        )
    })
}

impl Target {
    /// Does a socket bound to `local` on our port stand in the way of
    /// binding this target? A wildcard on either side conflicts with every
    /// address of its family, and an IPv6 wildcard that is not v6-only also
    /// takes every IPv4 address (dual stack).
    #[must_use]
    pub fn conflicts_with(&self, local: IpAddr, v6only: Option<bool>) -> bool {
        let Some(wanted) = self.addr else {
            return true;
        };
        let local = unmap(local);
        match (unmap(wanted), local) {
            (IpAddr::V4(w), IpAddr::V4(l)) => w == l || w.is_unspecified() || l.is_unspecified(),
            (IpAddr::V6(w), IpAddr::V6(l)) => w == l || w.is_unspecified() || l.is_unspecified(),
            (IpAddr::V4(_), IpAddr::V6(l)) => l.is_unspecified() && v6only != Some(true),
            (IpAddr::V6(w), IpAddr::V4(_)) => w.is_unspecified(),
        }
    }

    /// The address families whose sockets can conflict.
    #[must_use]
    pub fn families(&self) -> (bool, bool) {
        match self.addr.map(unmap) {
            // An IPv6 wildcard listener can hold an IPv4 address too.
            None | Some(IpAddr::V4(_)) => (true, true),
            Some(IpAddr::V6(a)) => (a.is_unspecified(), true),
        }
    }
}

/// `::ffff:1.2.3.4` is the IPv4 address it maps.
fn unmap(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            parse("8080").unwrap(),
            Target {
                addr: None,
                port: 8080
            }
        );
        assert_eq!(parse("127.0.0.1:80").unwrap().addr, Some(ip("127.0.0.1")));
        assert_eq!(parse("[::1]:443").unwrap().addr, Some(ip("::1")));
        assert_eq!(parse("[::]:443").unwrap().to_string(), "[::]:443");
    }

    #[test]
    fn refuses_what_it_cannot_mean_and_says_why() {
        assert!(parse("0").unwrap_err().contains("1-65535"));
        assert!(parse("65536").unwrap_err().contains("not a port"));
        assert!(parse("::1:80").unwrap_err().contains("brackets"));
        assert!(parse("localhost:80").unwrap_err().contains("not resolved"));
        assert!(parse("[127.0.0.1]:80").is_err());
        assert!(parse("[::1]").unwrap_err().contains("no port"));
        assert!(parse("+80").unwrap_err().contains("not a port"));
        assert!(parse("[fe80::1]:80").unwrap_err().contains("link-local"));
    }

    #[test]
    fn wildcards_and_dual_stack_conflict() {
        let v4 = parse("10.0.0.5:80").unwrap();
        assert!(v4.conflicts_with(ip("10.0.0.5"), None));
        assert!(v4.conflicts_with(ip("0.0.0.0"), None));
        assert!(!v4.conflicts_with(ip("127.0.0.1"), None));
        assert!(
            v4.conflicts_with(ip("::"), None),
            "dual-stack [::] takes IPv4"
        );
        assert!(!v4.conflicts_with(ip("::"), Some(true)), "v6-only does not");
        assert!(v4.conflicts_with(ip("::ffff:10.0.0.5"), Some(false)));
        let any6 = parse("[::]:80").unwrap();
        assert!(any6.conflicts_with(ip("127.0.0.1"), None));
        assert!(
            !parse("[::1]:80")
                .unwrap()
                .conflicts_with(ip("127.0.0.1"), None)
        );
        assert!(parse("80").unwrap().conflicts_with(ip("192.0.2.1"), None));
    }
}
