//! Asking the kernel for the sockets on one port through netlink sock_diag
//! (what `ss` does): the port filter runs in the kernel as inet_diag
//! bytecode, so the cost does not grow with the machine's other sockets.
//!
//! The messages are encoded and decoded here as plain bytes (the layouts
//! of `linux/netlink.h` and `linux/inet_diag.h`, all fixed and small);
//! only the socket calls touch the kernel.

use crate::socket::{Proto, Scope, Socket};
use rustix::fd::OwnedFd;
use rustix::net::{self, AddressFamily, RecvFlags, SendFlags, SocketType, netlink};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_BC_S_GE: u8 = 2;
const INET_DIAG_BC_S_LE: u8 = 3;
const INET_DIAG_SKV6ONLY: u16 = 11;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
const HEADER: usize = 16;
const DIAG_MSG: usize = 72;

/// A dump request for `family`'s sockets of `proto` in `scope` whose local
/// port is `port`: `sport >= port && sport <= port` in bytecode, which
/// every kernel since 2.6 understands (the single `S_EQ` op needs 4.16).
#[must_use]
pub fn request(family: u8, proto: Proto, scope: Scope, port: u16, seq: u32) -> Vec<u8> {
    let mut bytecode = Vec::with_capacity(16);
    // Each comparison is two 4-byte ops: {code, yes, no} then {0, 0, port}.
    // `no` jumps past the end (+4), which rejects the socket.
    for (code, no) in [(INET_DIAG_BC_S_GE, 20u16), (INET_DIAG_BC_S_LE, 12)] {
        bytecode.extend_from_slice(&[code, 8]);
        bytecode.extend_from_slice(&no.to_ne_bytes());
        bytecode.extend_from_slice(&[0, 0]);
        bytecode.extend_from_slice(&port.to_ne_bytes());
    }
    let total = HEADER + 56 + 4 + bytecode.len();
    let mut msg = Vec::with_capacity(total);
    msg.extend_from_slice(&(total as u32).to_ne_bytes());
    msg.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    let protocol: u8 = match proto {
        Proto::Tcp => 6,
        Proto::Udp => 17,
    };
    msg.extend_from_slice(&[family, protocol, 0, 0]);
    msg.extend_from_slice(&scope.state_mask(proto).to_ne_bytes());
    // inet_diag_sockid: ports, addresses and interface unused in a dump;
    // the cookie is INET_DIAG_NOCOOKIE.
    msg.extend_from_slice(&[0; 40]);
    msg.extend_from_slice(&[0xff; 8]);
    msg.extend_from_slice(&((4 + bytecode.len()) as u16).to_ne_bytes());
    msg.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
    msg.extend_from_slice(&bytecode);
    msg
}

/// What one receive buffer said.
#[derive(Debug, PartialEq, Eq)]
pub enum Batch {
    More,
    Done,
}

/// Decodes the messages in one receive buffer, appending the sockets.
pub fn decode(buf: &[u8], proto: Proto, out: &mut Vec<Socket>) -> Result<Batch, String> {
    let mut rest = buf;
    while rest.len() >= HEADER {
        let len = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(rest[4..6].try_into().unwrap());
        if len < HEADER || len > rest.len() {
            return Err(format!(
                "netlink message of {len} bytes in {} left",
                rest.len()
            ));
        }
        match kind {
            NLMSG_DONE => return Ok(Batch::Done),
            NLMSG_ERROR => {
                let errno = i32::from_ne_bytes(rest[16..20].try_into().map_err(|_| "short error")?);
                return Err(format!("sock_diag refused the request (errno {})", -errno));
            }
            SOCK_DIAG_BY_FAMILY => out.push(socket(&rest[HEADER..len], proto)?),
            _ => {}
        }
        rest = &rest[align(len).min(rest.len())..];
    }
    Ok(Batch::More)
}

fn socket(msg: &[u8], proto: Proto) -> Result<Socket, String> {
    if msg.len() < DIAG_MSG {
        return Err(format!(
            "inet_diag_msg of {} bytes, want {DIAG_MSG}",
            msg.len()
        ));
    }
    let u32_at = |at: usize| u32::from_ne_bytes(msg[at..at + 4].try_into().unwrap());
    let port_at = |at: usize| u16::from_be_bytes([msg[at], msg[at + 1]]);
    let family = msg[0];
    let ip_at = |at: usize| -> IpAddr {
        if family == AF_INET6 {
            let bytes: [u8; 16] = msg[at..at + 16].try_into().unwrap();
            IpAddr::V6(Ipv6Addr::from(bytes))
        } else {
            IpAddr::V4(Ipv4Addr::new(
                msg[at],
                msg[at + 1],
                msg[at + 2],
                msg[at + 3],
            ))
        }
    };
    Ok(Socket {
        proto,
        state: msg[1],
        local: SocketAddr::new(ip_at(8), port_at(4)),
        remote: SocketAddr::new(ip_at(24), port_at(6)),
        uid: u32_at(64),
        inode: u64::from(u32_at(68)),
        v6only: v6only(&msg[DIAG_MSG..]),
    })
}

fn v6only(mut attrs: &[u8]) -> Option<bool> {
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]);
        if len < 4 || len > attrs.len() {
            return None;
        }
        if kind == INET_DIAG_SKV6ONLY && len >= 5 {
            return Some(attrs[4] != 0);
        }
        attrs = &attrs[align(len).min(attrs.len())..];
    }
    None
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// Sends one request and collects the answer.
pub fn query(family: u8, proto: Proto, scope: Scope, port: u16) -> std::io::Result<Vec<Socket>> {
    let fd: OwnedFd = net::socket(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        Some(netlink::SOCK_DIAG),
    )?;
    // The kernel answers at once; a stuck answer must not hold a service start.
    net::sockopt::set_socket_timeout(
        &fd,
        net::sockopt::Timeout::Recv,
        Some(Duration::from_secs(2)),
    )?;
    let kernel = netlink::SocketAddrNetlink::new(0, 0);
    net::sendto(
        &fd,
        &request(family, proto, scope, port, 1),
        SendFlags::empty(),
        &kernel,
    )?;
    let mut sockets = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let (got, _) = net::recv(&fd, &mut buf[..], RecvFlags::empty())?;
        if got == 0 {
            return Ok(sockets);
        }
        match decode(&buf[..got], proto, &mut sockets) {
            Ok(Batch::Done) => return Ok(sockets),
            Ok(Batch::More) => {}
            Err(err) => return Err(std::io::Error::other(err)),
        }
    }
}

/// Inodes of the IPv4 and IPv6 TCP sockets listening on `port`.
pub fn listening_inodes(port: u16) -> std::io::Result<Vec<u64>> {
    let mut inodes = Vec::new();
    for family in [AF_INET, AF_INET6] {
        let sockets = query(family, Proto::Tcp, Scope::Listening, port)?;
        inodes.extend(sockets.iter().map(|s| s.inode).filter(|&i| i != 0));
    }
    Ok(inodes)
}

#[cfg(test)]
#[path = "sockdiag_tests.rs"]
mod tests;
