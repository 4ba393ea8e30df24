//! A socket on a port, as the kernel reports it (sock_diag or
//! `/proc/net/*`), whichever way it was found: port-reaper's holders and
//! ollama-frozen-check's listener both start here.

use std::net::{IpAddr, SocketAddr};

/// Kernel TCP state numbers (include/net/tcp_states.h).
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_TIME_WAIT: u8 = 6;
/// Also an unconnected UDP socket.
pub const TCP_CLOSE: u8 = 7;
pub const TCP_LISTEN: u8 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub proto: Proto,
    pub state: u8,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The uid that created it.
    pub uid: u32,
    /// 0 for sockets no file holds any more (TIME_WAIT).
    pub inode: u64,
    /// For IPv6 sockets when the kernel said (sock_diag does, /proc does not).
    pub v6only: Option<bool>,
}

/// Which sockets count as holding the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// TCP listeners, unconnected UDP sockets: what stops a server binding.
    Listening,
    /// Also connected sockets whose local port it is (accepted connections).
    AllStates,
}

impl Scope {
    /// Bit mask of kernel states, as sock_diag's `idiag_states` takes it.
    #[must_use]
    pub fn state_mask(self, proto: Proto) -> u32 {
        match (self, proto) {
            (Scope::Listening, Proto::Tcp) => 1 << TCP_LISTEN,
            (Scope::Listening, Proto::Udp) => 1 << TCP_CLOSE,
            // Every state but TIME_WAIT, whose sockets no process holds.
            (Scope::AllStates, _) => !(1 << TCP_TIME_WAIT),
        }
    }

    #[must_use]
    pub fn includes(self, proto: Proto, state: u8) -> bool {
        state < 32 && self.state_mask(proto) & (1 << state) != 0
    }
}

impl Socket {
    #[must_use]
    pub fn local_ip(&self) -> IpAddr {
        self.local.ip()
    }

    #[must_use]
    pub fn state_name(&self) -> &'static str {
        state_name(self.proto, self.state)
    }
}

/// `LISTEN`, `ESTABLISHED`, `UNCONN`... as `ss` names them.
#[must_use]
pub fn state_name(proto: Proto, state: u8) -> &'static str {
    match (proto, state) {
        (Proto::Udp, TCP_CLOSE) => "UNCONN",
        (_, TCP_ESTABLISHED) => "ESTAB",
        (_, 2) => "SYN-SENT",
        (_, 3) => "SYN-RECV",
        (_, 4) => "FIN-WAIT-1",
        (_, 5) => "FIN-WAIT-2",
        (_, TCP_TIME_WAIT) => "TIME-WAIT",
        (_, TCP_CLOSE) => "CLOSE",
        (_, 8) => "CLOSE-WAIT",
        (_, 9) => "LAST-ACK",
        (_, TCP_LISTEN) => "LISTEN",
        (_, 11) => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// The inode in a `/proc/<pid>/fd` link to a socket (`socket:[12345]`).
#[must_use]
pub fn socket_inode(link: &[u8]) -> Option<u64> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_pick_the_states_that_block_a_bind() {
        assert!(Scope::Listening.includes(Proto::Tcp, TCP_LISTEN));
        assert!(!Scope::Listening.includes(Proto::Tcp, TCP_ESTABLISHED));
        assert!(Scope::Listening.includes(Proto::Udp, TCP_CLOSE));
        assert!(Scope::AllStates.includes(Proto::Tcp, TCP_ESTABLISHED));
        assert!(!Scope::AllStates.includes(Proto::Tcp, TCP_TIME_WAIT));
        assert_eq!(state_name(Proto::Udp, TCP_CLOSE), "UNCONN");
        assert_eq!(state_name(Proto::Tcp, TCP_LISTEN), "LISTEN");
    }
}
