//! From a port to its sockets (sock_diag, else `/proc/net/*`) to the
//! processes holding them.

use crate::holder::{self, Holder, Sources};
use crate::socket::{Scope, Socket};
use crate::target::{Proto, Target};
use crate::walk::{self, Walk};
use crate::{procnet, sockdiag};
use std::path::Path;
use std::time::Duration;

/// How the sockets were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// sock_diag, falling back to /proc/net when the kernel refuses it
    Auto,
    /// netlink sock_diag only (filtered in the kernel, like ss)
    Netlink,
    /// /proc/net/{tcp,tcp6,udp,udp6} only
    Proc,
}

impl Source {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Auto => "auto",
            Source::Netlink => "netlink",
            Source::Proc => "proc",
        }
    }
}

/// What one look at the port found.
#[derive(Debug)]
pub struct Scan {
    pub sockets: Vec<Socket>,
    pub source: Source,
    pub holders: Vec<Holder>,
    pub walk: Walk,
    pub took: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub target: Target,
    pub proto: Proto,
    pub scope: Scope,
    pub source: Source,
}

/// The sockets in the way of `query.target`, and the source that told.
pub fn sockets(proc_root: &Path, query: &Query) -> std::io::Result<(Vec<Socket>, Source)> {
    let families = query.target.families();
    let (mut found, used) = match query.source {
        Source::Proc => (from_proc(proc_root, query, families)?, Source::Proc),
        Source::Netlink => (from_netlink(query, families)?, Source::Netlink),
        Source::Auto => match from_netlink(query, families) {
            Ok(found) => (found, Source::Netlink),
            Err(_) => (from_proc(proc_root, query, families)?, Source::Proc),
        },
    };
    found.retain(|s| {
        query.scope.includes(query.proto, s.state)
            && query.target.conflicts_with(s.local_ip(), s.v6only)
    });
    Ok((found, used))
}

fn from_proc(proc_root: &Path, q: &Query, families: (bool, bool)) -> std::io::Result<Vec<Socket>> {
    procnet::read(proc_root, q.proto, families, q.scope, q.target.port)
}

fn from_netlink(q: &Query, (v4, v6): (bool, bool)) -> std::io::Result<Vec<Socket>> {
    let mut found = Vec::new();
    if v4 {
        found.extend(sockdiag::query(
            sockdiag::AF_INET,
            q.proto,
            q.scope,
            q.target.port,
        )?);
    }
    if v6 {
        match sockdiag::query(sockdiag::AF_INET6, q.proto, q.scope, q.target.port) {
            Ok(sockets) => found.extend(sockets),
            // No IPv6 in this kernel: nothing can hold an IPv6 port.
            Err(err)
                if err.raw_os_error() == Some(rustix::io::Errno::AFNOSUPPORT.raw_os_error()) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(found)
}

/// The processes holding `sockets`, plus the walk's counts.
pub fn holders(
    src: &Sources<'_>,
    sockets: &[Socket],
) -> std::io::Result<(Vec<Holder>, walk::Walk)> {
    let inodes: Vec<u64> = sockets
        .iter()
        .map(|s| s.inode)
        .filter(|&i| i != 0)
        .collect();
    if inodes.is_empty() {
        return Ok((Vec::new(), walk::Walk::default()));
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let walk = walk::find(src.proc_root, &inodes, threads)?;
    let mut holders: Vec<Holder> = Vec::new();
    for &(pid, inode) in &walk.holds {
        match holders.last_mut() {
            Some(last) if last.pid == pid => last.inodes.push(inode),
            _ => holders.extend(holder::describe(src, pid, vec![inode])),
        }
    }
    Ok((holders, walk))
}
