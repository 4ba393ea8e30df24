//! Asking the kernel directly, by binding: is this address ours at all
//! (`EADDRNOTAVAIL` means another host or container owns it), and is the
//! port bindable now (`--bind-check`)?

use crate::target::{Proto, Target};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};

/// What a bind attempt said.
#[derive(Debug, PartialEq, Eq)]
pub enum Bind {
    Bound,
    /// `EADDRNOTAVAIL`: no interface here has the address.
    NotLocal,
    /// `EADDRINUSE`.
    InUse,
    Failed(String),
}

fn classify(result: io::Result<()>) -> Bind {
    match result {
        Ok(()) => Bind::Bound,
        Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => Bind::NotLocal,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Bind::InUse,
        Err(e) => Bind::Failed(e.to_string()),
    }
}

/// Is `addr` assigned on this host? Binds `addr:0` (a port the kernel
/// picks), so the port in question is never touched.
#[must_use]
pub fn address_is_local(addr: IpAddr) -> Bind {
    if addr.is_unspecified() {
        return Bind::Bound;
    }
    classify(UdpSocket::bind(SocketAddr::new(addr, 0)).map(drop))
}

/// Binds the target once and lets go: the proof `--bind-check` asks for.
/// Without an address it binds `[::]` dual-stack (which covers 0.0.0.0),
/// or `0.0.0.0` on a host without IPv6. TCP binds with SO_REUSEADDR, as
/// servers do, so connections in TIME-WAIT do not count as holding it.
#[must_use]
pub fn bind_check(target: &Target, proto: Proto) -> Bind {
    let attempt = |addr: IpAddr| {
        let at = SocketAddr::new(addr, target.port);
        classify(match proto {
            Proto::Tcp => TcpListener::bind(at).map(drop),
            Proto::Udp => UdpSocket::bind(at).map(drop),
        })
    };
    match target.addr {
        Some(addr) => attempt(addr),
        None => match attempt(IpAddr::V6(Ipv6Addr::UNSPECIFIED)) {
            Bind::Failed(_) => attempt(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            other => other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_net_addresses_are_not_local_and_loopback_is() {
        // 192.0.2.1 is TEST-NET-1 (RFC 5737): bound locally, never sent to.
        assert_eq!(
            address_is_local("192.0.2.1".parse().unwrap()),
            Bind::NotLocal
        );
        assert_eq!(address_is_local("127.0.0.1".parse().unwrap()), Bind::Bound);
        assert_eq!(address_is_local("0.0.0.0".parse().unwrap()), Bind::Bound);
    }

    #[test]
    fn bind_check_sees_a_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Target {
            addr: Some("127.0.0.1".parse().unwrap()),
            port,
        };
        assert_eq!(bind_check(&target, Proto::Tcp), Bind::InUse);
        let wildcard = Target { addr: None, port };
        assert_eq!(bind_check(&wildcard, Proto::Tcp), Bind::InUse);
        drop(listener);
        assert_eq!(bind_check(&target, Proto::Tcp), Bind::Bound);
    }
}
