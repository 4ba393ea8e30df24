use super::*;
use crate::socket::TCP_LISTEN;
use std::os::fd::AsRawFd;

/// One SOCK_DIAG_BY_FAMILY answer captured on this host (kernel 6.18) for
/// a listener on [::1]:37945, socket inode 138371.
const CAPTURED: &str = "8400000014000200010000002e0400000a0a0000943900000000000000000000000000000000000100000000000000000000000000000000000000000f0000000000000000000000000000008000000000000000831c0200050008000000000005000b000100000008000f00000000000c00150001000000000000000600160012000000";
/// The NLMSG_DONE that ends a dump.
const DONE: &str = "140000000300020001000000000000000000000000000000";

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn inode_of(fd: &impl AsRawFd) -> u64 {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
    crate::socket::socket_inode(link.as_os_str().as_encoded_bytes()).unwrap()
}

#[test]
fn decodes_a_captured_answer() {
    let mut found = Vec::new();
    assert_eq!(
        decode(&bytes(CAPTURED), Proto::Tcp, &mut found),
        Ok(Batch::More)
    );
    assert_eq!(found.len(), 1);
    let socket = &found[0];
    assert_eq!(socket.local.to_string(), "[::1]:37945");
    assert_eq!(
        (socket.state, socket.inode, socket.uid),
        (TCP_LISTEN, 138_371, 0)
    );
    assert_eq!(socket.v6only, Some(true));
    assert_eq!(
        decode(&bytes(DONE), Proto::Tcp, &mut found),
        Ok(Batch::Done)
    );
}

#[test]
fn truncated_or_refused_answers_are_errors() {
    let answer = bytes(CAPTURED);
    let mut found = Vec::new();
    assert!(decode(&answer[..100], Proto::Tcp, &mut found).is_err());
    // NLMSG_ERROR carrying -EINVAL (22).
    let mut error = bytes("24000000020000000100000000000000eaffffff");
    error.resize(36, 0);
    let err = decode(&error, Proto::Tcp, &mut found).unwrap_err();
    assert!(err.contains("errno 22"), "{err}");
}

#[test]
fn the_request_carries_the_port_filter() {
    let msg = request(AF_INET, Proto::Udp, Scope::Listening, 0x1f90, 7);
    assert_eq!(msg.len(), 92);
    assert_eq!(u32::from_ne_bytes(msg[0..4].try_into().unwrap()), 92);
    assert_eq!(&msg[16..18], &[AF_INET, 17]);
    assert_eq!(
        u32::from_ne_bytes(msg[20..24].try_into().unwrap()),
        1 << 7,
        "UDP unconnected"
    );
    // Bytecode: S_GE 8080 then S_LE 8080.
    assert_eq!(&msg[76..80], &[INET_DIAG_BC_S_GE, 8, 20, 0]);
    assert_eq!(u16::from_ne_bytes([msg[82], msg[83]]), 8080);
    assert_eq!(msg[84], INET_DIAG_BC_S_LE);
}

#[test]
fn the_kernel_filters_to_our_listeners() {
    let ours = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = ours.local_addr().unwrap().port();
    let found = query(AF_INET, Proto::Tcp, Scope::Listening, port).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].inode, inode_of(&ours));
    assert_ne!(found[0].inode, inode_of(&other));
    let v6 = std::net::UdpSocket::bind("[::1]:0").unwrap();
    let udp = query(
        AF_INET6,
        Proto::Udp,
        Scope::Listening,
        v6.local_addr().unwrap().port(),
    )
    .unwrap();
    assert_eq!(
        udp.iter().map(|s| s.inode).collect::<Vec<_>>(),
        [inode_of(&v6)]
    );
}
