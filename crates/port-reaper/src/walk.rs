//! Which processes hold the socket inodes: the kernel keeps no socket to
//! process map, so every `/proc/<pid>/fd/*` link is read (as `ss -p`,
//! `fuser` and `lsof` do). This is the expensive part on a busy host, so
//! it runs on every core, reads directories with `getdents64` into one
//! reused buffer per thread and links with `readlinkat` relative to the
//! fd directory: no allocation per descriptor.
//!
//! `EACCES` (another user's process when not root; `/proc/1/fd` in some
//! containers even for root) and `ENOENT` (it exited meanwhile) are
//! normal: such pids are counted, never fatal.

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{CWD, Mode, OFlags, RawDir, openat, readlinkat_raw};
use rustix::io::Errno;
pub use selfheal_core::socket::socket_inode;
use std::mem::MaybeUninit;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many unreadable pids a walk names (the count is always exact).
const UNREADABLE_NAMED: usize = 16;
const CHUNK: usize = 16;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Walk {
    /// `(pid, inode)` for every descriptor that is one of the sockets.
    pub holds: Vec<(i32, u64)>,
    /// Processes looked at.
    pub scanned: usize,
    /// Processes whose descriptors could not be read (EACCES).
    pub unreadable: usize,
    /// The first few of them.
    pub unreadable_pids: Vec<i32>,
}

/// Scans every process under `proc_root` for descriptors on `inodes`.
pub fn find(proc_root: &Path, inodes: &[u64], threads: usize) -> std::io::Result<Walk> {
    let mut wanted = inodes.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let root = open_dir(CWD, proc_root)?;
    let pids = list_pids(&root)?;
    let next = AtomicUsize::new(0);
    let total = Mutex::new(Walk {
        scanned: pids.len(),
        ..Walk::default()
    });
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let part = scan(&root, &pids, &next, &wanted);
                let mut total = total
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                merge(&mut total, part);
            });
        }
    });
    let mut walk = total
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    walk.holds.sort_unstable();
    walk.unreadable_pids.sort_unstable();
    Ok(walk)
}

fn merge(total: &mut Walk, part: Walk) {
    total.holds.extend(part.holds);
    total.unreadable += part.unreadable;
    for pid in part.unreadable_pids {
        if total.unreadable_pids.len() < UNREADABLE_NAMED {
            total.unreadable_pids.push(pid);
        }
    }
}

fn open_dir<Fd: AsFd>(at: Fd, path: impl rustix::path::Arg) -> rustix::io::Result<OwnedFd> {
    openat(
        at,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn list_pids(root: &OwnedFd) -> std::io::Result<Vec<i32>> {
    let mut buf = vec![MaybeUninit::<u8>::uninit(); 32 * 1024];
    let mut dir = RawDir::new(root, &mut buf);
    let mut pids = Vec::new();
    while let Some(entry) = dir.next() {
        let entry = entry?;
        if let Some(pid) = std::str::from_utf8(entry.file_name().to_bytes())
            .ok()
            .and_then(|name| name.parse::<i32>().ok())
        {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// One thread's share: takes chunks of pids until none are left.
fn scan(root: &OwnedFd, pids: &[i32], next: &AtomicUsize, wanted: &[u64]) -> Walk {
    let mut part = Walk::default();
    let mut dents = vec![MaybeUninit::<u8>::uninit(); 16 * 1024];
    let mut path = String::with_capacity(24);
    loop {
        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
        let Some(chunk) = pids.get(start..(start + CHUNK).min(pids.len())) else {
            return part;
        };
        for &pid in chunk {
            path.clear();
            path.push_str(itoa(pid, &mut [0u8; 12]));
            path.push_str("/fd");
            match open_dir(root, path.as_str()) {
                Ok(fd_dir) => {
                    if holds_in(&fd_dir, pid, wanted, &mut dents, &mut part.holds) == 0 {
                        through_a_thread(root, pid, wanted, &mut dents, &mut part.holds);
                    }
                }
                Err(Errno::ACCESS | Errno::PERM) => {
                    part.unreadable += 1;
                    part.unreadable_pids.push(pid);
                }
                // Exited meanwhile (ENOENT), or a zombie: holds nothing.
                Err(_) => {}
            }
        }
        part.unreadable_pids.truncate(UNREADABLE_NAMED);
    }
}

/// A process showing no descriptors may be a zombie leader (its main
/// thread called `pthread_exit`) whose other threads still hold them: they
/// are read through one of those threads. Kernel threads also show none;
/// they have no other thread, so this costs them one directory read.
fn through_a_thread(
    root: &OwnedFd,
    pid: i32,
    wanted: &[u64],
    dents: &mut [MaybeUninit<u8>],
    holds: &mut Vec<(i32, u64)>,
) {
    let mut pid_buf = [0u8; 12];
    let task = format!("{}/task", itoa(pid, &mut pid_buf));
    let Ok(task_dir) = open_dir(root, task.as_str()) else {
        return;
    };
    let mut tid = None;
    let mut dir = RawDir::new(&task_dir, &mut *dents);
    while let Some(Ok(entry)) = dir.next() {
        let name = std::str::from_utf8(entry.file_name().to_bytes()).ok();
        if let Some(found) = name.and_then(|n| n.parse::<i32>().ok())
            && found != pid
        {
            tid = Some(found);
            break;
        }
    }
    let Some(tid) = tid else { return };
    if let Ok(fd_dir) = open_dir(&task_dir, format!("{tid}/fd").as_str()) {
        holds_in(&fd_dir, pid, wanted, dents, holds);
    }
}

/// Adds the wanted sockets among `fd_dir`'s links; returns how many
/// descriptors it saw.
fn holds_in(
    fd_dir: &OwnedFd,
    pid: i32,
    wanted: &[u64],
    dents: &mut [MaybeUninit<u8>],
    holds: &mut Vec<(i32, u64)>,
) -> usize {
    let mut dir = RawDir::new(fd_dir, dents);
    let mut link = [0u8; 48];
    let mut seen = 0;
    while let Some(Ok(entry)) = dir.next() {
        let name = entry.file_name();
        if name.to_bytes().first() == Some(&b'.') {
            continue;
        }
        seen += 1;
        let Ok(len) = readlinkat_raw(fd_dir, name, &mut link[..]) else {
            continue;
        };
        if let Some(inode) = socket_inode(&link[..len])
            && wanted.binary_search(&inode).is_ok()
        {
            holds.push((pid, inode));
        }
    }
    seen
}

fn itoa(value: i32, buf: &mut [u8; 12]) -> &str {
    let mut at = buf.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).expect("ascii digits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn socket_links_are_recognised() {
        assert_eq!(socket_inode(b"socket:[71824]"), Some(71824));
        assert_eq!(socket_inode(b"pipe:[71824]"), None);
        assert_eq!(socket_inode(b"/tmp/socket:[1]"), None);
        assert_eq!(socket_inode(b"socket:[12"), None, "a truncated link");
    }

    #[test]
    fn finds_our_own_socket_and_nothing_else() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let link = std::fs::read_link(format!("/proc/self/fd/{}", listener.as_raw_fd())).unwrap();
        let inode = socket_inode(link.as_os_str().as_encoded_bytes()).unwrap();
        let walk = find(Path::new("/proc"), &[inode], 2).unwrap();
        assert_eq!(walk.holds, [(std::process::id().cast_signed(), inode)]);
        assert!(walk.scanned > 1);
        assert!(
            find(Path::new("/proc"), &[u64::MAX], 2)
                .unwrap()
                .holds
                .is_empty()
        );
    }

    #[test]
    fn itoa_writes_decimal() {
        assert_eq!(itoa(0, &mut [0; 12]), "0");
        assert_eq!(itoa(4_194_304, &mut [0; 12]), "4194304");
    }
}
