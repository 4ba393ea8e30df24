//! Which sockets listen on a TCP port, asked of the kernel through
//! `NETLINK_SOCK_DIAG` with a LISTEN-only state filter: a box with
//! thousands of connections (TIME_WAIT after a load test) costs nothing,
//! where `/proc/net/tcp` formats every one of them (tens of ms).
//! The caller falls back to `/proc/net/tcp` when this is unavailable.

use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use std::io;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const IPPROTO_TCP: u8 = 6;
const TCP_LISTEN: u32 = 10;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// nlmsghdr (16) + inet_diag_req_v2 (8 + 48-byte socket id).
const REQUEST_LEN: usize = 16 + 56;
/// Offset of `idiag_inode` in inet_diag_msg, after the 16-byte nlmsghdr.
const INODE_AT: usize = 16 + 68;
const SPORT_AT: usize = 16 + 4;

/// The dump request for listening TCP sockets of one address family.
#[must_use]
pub fn request(family: u8, seq: u32) -> [u8; REQUEST_LEN] {
    let mut req = [0u8; REQUEST_LEN];
    req[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req[8..12].copy_from_slice(&seq.to_ne_bytes());
    req[16] = family;
    req[17] = IPPROTO_TCP;
    req[20..24].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    req
}

/// Parses one datagram of the answer: inodes on `port`, and whether the
/// dump is done. An error message from the kernel is an error.
pub fn parse(buf: &[u8], port: u16, inodes: &mut Vec<u64>) -> io::Result<bool> {
    let mut at = 0;
    while at + 16 <= buf.len() {
        let field = |from: usize, n: usize| buf.get(at + from..at + from + n);
        let len = u32::from_ne_bytes(field(0, 4).unwrap().try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(field(4, 2).unwrap().try_into().unwrap());
        if len < 16 || at + len > buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "truncated netlink message",
            ));
        }
        match kind {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => return Err(io::Error::other("sock_diag refused the request")),
            _ => {
                if let (Some(sport), Some(inode)) = (field(SPORT_AT, 2), field(INODE_AT, 4)) {
                    let sport = u16::from_be_bytes(sport.try_into().unwrap());
                    if sport == port {
                        inodes.push(u64::from(u32::from_ne_bytes(inode.try_into().unwrap())));
                    }
                }
            }
        }
        at += (len + 3) & !3;
    }
    Ok(false)
}

/// Inodes of the IPv4 and IPv6 sockets listening on `port`.
pub fn listening_inodes(port: u16) -> io::Result<Vec<u64>> {
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        Some(netlink::SOCK_DIAG),
    )?;
    // A kernel that never answers must not hold the check.
    rustix::net::sockopt::set_socket_timeout(
        &fd,
        rustix::net::sockopt::Timeout::Recv,
        Some(std::time::Duration::from_secs(1)),
    )?;
    let kernel = SocketAddrNetlink::new(0, 0);
    let mut inodes = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    for (seq, family) in [(1, AF_INET), (2, AF_INET6)] {
        rustix::net::sendto(&fd, &request(family, seq), SendFlags::empty(), &kernel)?;
        loop {
            let (n, _) = rustix::net::recv(&fd, &mut buf[..], RecvFlags::empty())?;
            if n == 0 || parse(&buf[..n], port, &mut inodes)? {
                break;
            }
        }
    }
    Ok(inodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_names_the_socket_this_process_listens_on() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let inodes = listening_inodes(port).unwrap();
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        assert_eq!(inodes, crate::procs::listening_inodes(&table, port));
        assert_eq!(inodes.len(), 1);
        drop(listener);
        assert!(listening_inodes(port).unwrap().is_empty());
    }

    #[test]
    fn requests_ask_for_listening_tcp_only() {
        let req = request(AF_INET6, 7);
        assert_eq!(u32::from_ne_bytes(req[0..4].try_into().unwrap()), 72);
        assert_eq!((req[16], req[17]), (AF_INET6, IPPROTO_TCP));
        assert_eq!(u32::from_ne_bytes(req[20..24].try_into().unwrap()), 1 << 10);
        let mut inodes = Vec::new();
        let mut done = [0u8; 20];
        done[0..4].copy_from_slice(&20u32.to_ne_bytes());
        done[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
        assert!(parse(&done, 1, &mut inodes).unwrap());
        assert!(parse(&done[..12], 1, &mut inodes).is_ok_and(|d| !d));
    }
}
