//! `/proc/<pid>/stat`: the one line the kernel keeps per process, parsed
//! without I/O. `read` is the edge that takes a proc root, so tests can
//! point it at a fixture tree.

use std::io;
use std::path::Path;

/// Where the kernel mounts procfs; tools take a root parameter defaulting to it.
pub const PROC_ROOT: &str = "/proc";

/// `PF_KTHREAD` in the `flags` field: a kernel thread, never a target.
const PF_KTHREAD: u64 = 0x0020_0000;

/// The fields of `/proc/<pid>/stat` the tools use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    /// The command name, at most 15 bytes, as the kernel keeps it.
    pub comm: String,
    /// `R` running, `S` sleeping, `D` uninterruptible (in the kernel, deaf
    /// to signals), `T` stopped, `t` traced, `Z` zombie, `I` idle kernel
    /// thread, `X` dead.
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub flags: u64,
    /// CPU time in clock ticks (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
    pub utime: u64,
    pub stime: u64,
    /// Threads in its thread group (`num_threads`).
    pub threads: u64,
    /// Start time in clock ticks after boot: with the pid, the identity of
    /// a process (a recycled pid has a later start time).
    pub starttime: u64,
    /// Resident set in pages.
    pub rss_pages: u64,
}

impl ProcStat {
    /// CPU time used so far, user and system, in clock ticks.
    #[must_use]
    pub fn cpu_ticks(&self) -> u64 {
        self.utime + self.stime
    }

    /// When it started, in seconds after boot: comparable with a
    /// [`crate::clock::Stamp`]'s `uptime`.
    #[must_use]
    pub fn started_after_boot(&self) -> f64 {
        self.starttime as f64 / rustix::param::clock_ticks_per_second().max(1) as f64
    }

    #[must_use]
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    /// Zombie or dead: it holds nothing any more and cannot be signalled.
    /// A zombie *leader* whose other threads still run (its main thread
    /// called `pthread_exit`) is not gone: they hold its descriptors and a
    /// signal to it reaches them.
    #[must_use]
    pub fn is_gone(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x') && self.threads <= 1
    }
}

/// Parses one `/proc/<pid>/stat` line. The comm is everything between the
/// first `(` and the last `)`, since a process may name itself `a) (b`.
pub fn parse(line: &str) -> Result<ProcStat, String> {
    let bad = |what: &str| format!("malformed /proc/<pid>/stat ({what}): {:.80}", line.trim());
    let open = line.find('(').ok_or_else(|| bad("no '('"))?;
    let close = line.rfind(')').ok_or_else(|| bad("no ')'"))?;
    if close < open {
        return Err(bad("')' before '('"));
    }
    let pid = line[..open].trim().parse().map_err(|_| bad("pid"))?;
    let comm = line[open + 1..close].to_owned();
    let rest: Vec<&str> = line[close + 1..].split_ascii_whitespace().collect();
    let field = |index: usize, what: &str| -> Result<&str, String> {
        rest.get(index).copied().ok_or_else(|| bad(what))
    };
    let number = |index: usize, what: &str| -> Result<u64, String> {
        field(index, what)?.parse().map_err(|_| bad(what))
    };
    let signed = |index: usize, what: &str| -> Result<i32, String> {
        field(index, what)?.parse().map_err(|_| bad(what))
    };
    let mut state_chars = field(0, "state")?.chars();
    let state = state_chars.next().ok_or_else(|| bad("state"))?;
    Ok(ProcStat {
        pid,
        comm,
        state,
        ppid: signed(1, "ppid")?,
        pgrp: signed(2, "pgrp")?,
        flags: number(6, "flags")?,
        utime: number(11, "utime")?,
        stime: number(12, "stime")?,
        threads: number(17, "num_threads")?,
        starttime: number(19, "starttime")?,
        rss_pages: field(21, "rss")?
            .parse::<i64>()
            .map_err(|_| bad("rss"))?
            .max(0) as u64,
    })
}

/// Reads and parses `<proc_root>/<pid>/stat`. A process that vanished is
/// `NotFound`; a malformed line is `InvalidData`. A comm that is not UTF-8
/// (any process may name itself so) reads with U+FFFD in its place: failing
/// would make that process invisible, and never a target's "gone".
pub fn read(proc_root: &Path, pid: i32) -> io::Result<ProcStat> {
    let bytes = std::fs::read(proc_root.join(pid.to_string()).join("stat"))?;
    parse(&String::from_utf8_lossy(&bytes))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured on this Debian 12 host (kernel 6.18): a sleeping `sleep 30`.
    const SLEEP: &str = "10260 (sleep) S 10258 10258 5539 0 -1 4194304 127 0 1 0 0 0 0 0 20 0 1 0 29106 2990080 405 18446744073709551615 94606091472896 94606091490825 140729947688208 0 0 0 0 6 0 1 0 0 17 1 0 0 0 0 0 94606091504912 94606091506176 94607078723584 140729947691752 140729947691761 140729947691761 140729947693033 0\n";
    // kthreadd on the same host: flags carry PF_KTHREAD.
    const KTHREADD: &str = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 26 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    // Constructed: a stopped process that renamed itself `a) (b c` (prctl).
    const ODD: &str = "777 (a) (b c) T 1 777 777 0 -1 4194560 1 0 0 0 12 34 0 0 20 0 1 0 5000 1000 -1 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";

    #[test]
    fn reads_a_user_process() {
        let stat = parse(SLEEP).unwrap();
        assert_eq!(stat.pid, 10260);
        assert_eq!(stat.comm, "sleep");
        assert_eq!(stat.state, 'S');
        assert_eq!((stat.ppid, stat.pgrp), (10258, 10258));
        assert_eq!(stat.starttime, 29106);
        assert_eq!(stat.rss_pages, 405);
        assert!(!stat.is_kernel_thread());
        assert!(!stat.is_gone());
    }

    #[test]
    fn kernel_threads_are_recognised() {
        let stat = parse(KTHREADD).unwrap();
        assert_eq!(stat.comm, "kthreadd");
        assert_eq!(stat.ppid, 0);
        assert!(stat.is_kernel_thread());
    }

    #[test]
    fn comm_may_hold_parentheses_and_spaces() {
        let stat = parse(ODD).unwrap();
        assert_eq!(stat.comm, "a) (b c");
        assert_eq!(stat.state, 'T');
        assert_eq!((stat.utime, stat.stime), (12, 34));
        assert_eq!(stat.rss_pages, 0, "a negative rss reads as 0");
    }

    #[test]
    fn truncated_lines_are_errors_naming_the_field() {
        let err = parse("12 (x) S 1 12").unwrap_err();
        assert!(err.contains("flags"), "{err}");
        assert!(parse("garbage").is_err());
        assert!(parse("1 x) S (y").is_err());
    }

    #[test]
    fn read_takes_a_proc_root() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("10260")).unwrap();
        std::fs::write(root.path().join("10260/stat"), SLEEP).unwrap();
        assert_eq!(read(root.path(), 10260).unwrap().comm, "sleep");
        let missing = read(root.path(), 1).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_comm_that_is_not_utf8_still_reads() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("42")).unwrap();
        let line = SLEEP
            .replace("10260 (sleep)", "42 (a\nb\u{1}|)")
            .into_bytes();
        let mut bytes = line.clone();
        let at = line.iter().position(|&b| b == b'|').unwrap();
        bytes.splice(at..=at, [0xff, 0xfe]);
        std::fs::write(root.path().join("42/stat"), bytes).unwrap();
        let stat = read(root.path(), 42).unwrap();
        assert_eq!(stat.comm, "a\nb\u{1}\u{fffd}\u{fffd}");
        assert_eq!((stat.state, stat.starttime), ('S', 29106));
    }

    #[test]
    fn a_zombie_leader_with_live_threads_is_not_gone() {
        // As seen here: python whose main thread called pthread_exit while
        // another thread held a socket reads Z with num_threads 2; a
        // process all of whose threads exited reads Z with 1.
        let leader = SLEEP
            .replacen(" S ", " Z ", 1)
            .replacen(" 1 0 29106", " 2 0 29106", 1);
        let stat = parse(&leader).unwrap();
        assert_eq!((stat.state, stat.threads), ('Z', 2));
        assert!(!stat.is_gone());
        let zombie = SLEEP.replacen(" S ", " Z ", 1);
        assert!(parse(&zombie).unwrap().is_gone());
        assert!(!parse(SLEEP).unwrap().is_gone());
    }

    #[test]
    fn our_own_stat_parses() {
        let pid = std::process::id().cast_signed();
        let me = read(Path::new(PROC_ROOT), pid).unwrap();
        assert_eq!(me.pid, pid);
        assert!(!me.is_gone() && !me.is_kernel_thread());
        assert!(me.starttime > 0);
    }
}
