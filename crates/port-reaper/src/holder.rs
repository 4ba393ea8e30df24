//! Everything worth knowing about a process that holds the port, read from
//! `<proc>/<pid>/{stat,status,cmdline,exe,cgroup}` and the passwd file.

use crate::cgroup::{self, Unit};
use selfheal_core::procstat;
use std::io::Read;
use std::path::Path;

/// How much of a command line is kept (a node process can have a long one).
const CMDLINE_MAX: u64 = 4096;

#[derive(Debug, Clone)]
pub struct Holder {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    pub uid: Option<u32>,
    pub user: String,
    pub comm: String,
    pub cmdline: String,
    /// The executable, without the ` (deleted)` of an upgraded binary.
    pub exe: Option<String>,
    /// Clock ticks after boot: with the pid, the identity we signal.
    pub starttime: u64,
    pub started_unix: Option<f64>,
    pub state: char,
    pub kernel_thread: bool,
    pub unit: Option<Unit>,
    pub parent_comm: Option<String>,
    /// Adopted by PID 1 or a subreaper, and not a group leader (a daemon
    /// systemd starts leads its own group; a forked child left behind does not).
    pub orphan: bool,
    /// The supervisor that would restart it, if any.
    pub supervisor: Option<String>,
    /// The socket inodes it holds.
    pub inodes: Vec<u64>,
}

/// Where to read from: `/proc` and `/etc/passwd` unless a test says otherwise.
#[derive(Debug, Clone)]
pub struct Sources<'a> {
    pub proc_root: &'a Path,
    pub passwd: &'a str,
    /// Seconds since the epoch at boot (`btime` in `<proc>/stat`).
    pub boot_unix: Option<f64>,
    pub ticks_per_second: u64,
    /// The unit this run itself belongs to: its leftovers are not "supervised".
    pub own_unit: Option<String>,
}

/// Describes `pid`, or `None` if it exited meanwhile.
#[must_use]
pub fn describe(src: &Sources<'_>, pid: i32, inodes: Vec<u64>) -> Option<Holder> {
    let stat = procstat::read(src.proc_root, pid).ok()?;
    let dir = src.proc_root.join(pid.to_string());
    let uid = read_lossy(&dir.join("status"))
        .as_deref()
        .and_then(real_uid);
    let parent = procstat::read(src.proc_root, stat.ppid).ok();
    let parent_comm = parent.as_ref().map(|p| p.comm.clone());
    let unit = read_lossy(&dir.join("cgroup"))
        .as_deref()
        .and_then(cgroup::path)
        .and_then(cgroup::unit);
    let adopted = stat.ppid == 1 || parent_comm.as_deref().is_some_and(cgroup::is_subreaper);
    let supervisor = supervisor(src, unit.as_ref(), parent_comm.as_deref(), stat.ppid);
    Some(Holder {
        pid,
        ppid: stat.ppid,
        pgrp: stat.pgrp,
        user: uid.map_or_else(|| "?".into(), |u| user_name(src.passwd, u)),
        uid,
        comm: stat.comm.clone(),
        cmdline: read_cmdline(&dir.join("cmdline")),
        exe: std::fs::read_link(dir.join("exe")).ok().map(|p| {
            let text = p.to_string_lossy();
            text.strip_suffix(" (deleted)").unwrap_or(&text).to_owned()
        }),
        starttime: stat.starttime,
        started_unix: src
            .boot_unix
            .map(|boot| boot + stat.starttime as f64 / src.ticks_per_second.max(1) as f64),
        state: stat.state,
        kernel_thread: stat.is_kernel_thread(),
        unit,
        parent_comm,
        orphan: adopted && stat.pgrp != pid,
        supervisor,
        inodes,
    })
}

/// A `/proc` text file whose names (a comm in `status`, a cgroup) may not
/// be UTF-8: such a name must not hide the rest of the file.
fn read_lossy(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn supervisor(
    src: &Sources<'_>,
    unit: Option<&Unit>,
    parent_comm: Option<&str>,
    ppid: i32,
) -> Option<String> {
    if let Some(unit) = unit.filter(|u| u.is_service())
        && src.own_unit.as_deref() != Some(unit.name.as_str())
    {
        return Some(match unit.user {
            Some(uid) => format!("systemd user unit {} of uid {uid}", unit.name),
            None => format!("systemd unit {}", unit.name),
        });
    }
    parent_comm
        .and_then(|comm| cgroup::supervisor(comm, ppid))
        .map(|s| format!("{s} (pid {ppid})"))
}

/// The real uid from a `/proc/<pid>/status` text (`Uid: real eff saved fs`).
#[must_use]
pub fn real_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The name of `uid` in a passwd text, else the number.
#[must_use]
pub fn user_name(passwd: &str, uid: u32) -> String {
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
        })
        .unwrap_or_else(|| uid.to_string())
}

/// The uid of a user name (or a number) in a passwd text.
#[must_use]
pub fn user_id(passwd: &str, user: &str) -> Option<u32> {
    user.parse().ok().or_else(|| {
        passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            (fields.next()? == user).then_some(())?;
            fields.nth(1)?.parse().ok()
        })
    })
}

fn read_cmdline(path: &Path) -> String {
    let mut raw = Vec::new();
    let _ = std::fs::File::open(path).and_then(|f| f.take(CMDLINE_MAX).read_to_end(&mut raw));
    let text = String::from_utf8_lossy(&raw);
    text.trim_end_matches('\0').replace('\0', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\npostgres:x:104:110:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";

    #[test]
    fn users_by_uid_and_by_name() {
        assert_eq!(user_name(PASSWD, 104), "postgres");
        assert_eq!(user_name(PASSWD, 4242), "4242");
        assert_eq!(user_id(PASSWD, "postgres"), Some(104));
        assert_eq!(user_id(PASSWD, "1000"), Some(1000));
        assert_eq!(user_id(PASSWD, "nobody-here"), None);
    }

    #[test]
    fn real_uid_is_the_first_of_four() {
        let status = "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(real_uid(status), Some(1000));
        assert_eq!(real_uid("Name:\tx\n"), None);
    }

    #[test]
    fn describes_a_real_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let src = Sources {
            proc_root: Path::new(procstat::PROC_ROOT),
            passwd: PASSWD,
            boot_unix: Some(1000.0),
            ticks_per_second: 100,
            own_unit: None,
        };
        let pid = child.id().cast_signed();
        // Until exec, the child is a copy of this test binary.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let holder = loop {
            let holder = describe(&src, pid, vec![7]).unwrap();
            if holder.cmdline == "sleep 60" || std::time::Instant::now() > deadline {
                break holder;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        };
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(holder.comm, "sleep");
        assert_eq!(holder.cmdline, "sleep 60");
        assert_eq!(holder.ppid, std::process::id().cast_signed());
        assert!(holder.exe.unwrap().ends_with("/sleep"));
        assert!(!holder.orphan, "its parent is alive");
        assert!(holder.started_unix.unwrap() > 1000.0);
    }
}
