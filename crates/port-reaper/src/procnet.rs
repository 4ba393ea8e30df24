//! The fallback when sock_diag is unavailable (no `NETLINK_SOCK_DIAG` in
//! the kernel, or a seccomp filter): `/proc/net/{tcp,tcp6,udp,udp6}`,
//! read whole and filtered here. Addresses are hex words in host byte
//! order as the kernel printed them; the port is plain hex.

use crate::socket::{Scope, Socket};
use crate::target::Proto;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// The sockets of one `/proc/net/<proto>[6]` text on `port` in `scope`.
pub fn parse(text: &str, proto: Proto, scope: Scope, port: u16) -> Result<Vec<Socket>, String> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let socket = parse_line(line, proto).ok_or_else(|| {
            format!(
                "line {}: cannot read socket entry {:.100}",
                index + 1,
                line.trim()
            )
        })?;
        if socket.local.port() == port && scope.includes(proto, socket.state) {
            found.push(socket);
        }
    }
    Ok(found)
}

fn parse_line(line: &str, proto: Proto) -> Option<Socket> {
    let fields: Vec<&str> = line.split_ascii_whitespace().take(10).collect();
    if fields.len() < 10 {
        return None;
    }
    Some(Socket {
        proto,
        local: address(fields[1])?,
        remote: address(fields[2])?,
        state: u8::from_str_radix(fields[3], 16).ok()?,
        uid: fields[7].parse().ok()?,
        inode: fields[9].parse().ok()?,
        v6only: None,
    })
}

/// `0100007F:1F90` is 127.0.0.1:8080 (on a little-endian host).
fn address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = ip.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Reads the files of `proto` under `<proc_root>/net/`, IPv4 and/or IPv6.
/// A missing file (no IPv6 in this kernel) holds no sockets.
pub fn read(
    proc_root: &Path,
    proto: Proto,
    (v4, v6): (bool, bool),
    scope: Scope,
    port: u16,
) -> io::Result<Vec<Socket>> {
    let mut found = Vec::new();
    let names = [
        (v4, proto.as_str().to_owned()),
        (v6, format!("{}6", proto.as_str())),
    ];
    for (wanted, name) in names {
        if !wanted {
            continue;
        }
        let path = proc_root.join("net").join(&name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        let sockets = parse(&text, proto, scope, port).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        found.extend(sockets);
    }
    Ok(found)
}

#[cfg(test)]
#[path = "procnet_tests.rs"]
mod tests;
