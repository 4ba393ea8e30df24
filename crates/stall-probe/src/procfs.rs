//! Pure parsers for the `/proc/<pid>` files stall-probe reads: `stat`
//! (state, CPU time, start time, parent), `status` (RSS, threads) and
//! `schedstat` (time on and waiting for a CPU). I/O lives in [`read_process`].

use std::path::Path;

/// Clock ticks per second of `utime`/`stime`: `USER_HZ`, 100 on every
/// Linux architecture that matters here (glibc's `sysconf(_SC_CLK_TCK)`).
pub const USER_HZ: f64 = 100.0;

/// The fields of `/proc/<pid>/stat` the probe uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    pub comm: String,
    /// `R`, `S`, `D`, `T`, `t`, `Z`, `I`, ...
    pub state: char,
    pub ppid: u32,
    /// `utime + stime`, in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot, in clock ticks: with the pid, a process's identity.
    pub start_ticks: u64,
}

impl Stat {
    #[must_use]
    pub fn cpu_seconds(&self) -> f64 {
        self.cpu_ticks as f64 / USER_HZ
    }
}

/// Parses `/proc/<pid>/stat`. The command name sits in parentheses and may
/// itself hold spaces and `)`, so fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Result<Stat, String> {
    let open = text.find('(').ok_or("no '(' before the command name")?;
    let close = text.rfind(')').ok_or("no ')' after the command name")?;
    let comm = text.get(open + 1..close).unwrap_or_default().to_owned();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // fields[0] is field 3 (state); field N is fields[N - 3].
    let field = |n: usize| -> Result<u64, String> {
        let raw = fields
            .get(n - 3)
            .ok_or_else(|| format!("field {n} missing"))?;
        raw.parse()
            .map_err(|_| format!("field {n} is {raw:?}, not a number"))
    };
    let state = fields
        .first()
        .and_then(|s| s.chars().next())
        .ok_or("no state field")?;
    Ok(Stat {
        comm,
        state,
        ppid: u32::try_from(field(4)?).map_err(|e| e.to_string())?,
        cpu_ticks: field(14)? + field(15)?,
        start_ticks: field(22)?,
    })
}

/// `VmRSS` in bytes and `Threads` from `/proc/<pid>/status`. A kernel
/// thread or a zombie has no `VmRSS`: that reads as 0.
#[must_use]
pub fn parse_status(text: &str) -> (u64, u32) {
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    let rss = value("VmRSS:").unwrap_or(0) * 1024;
    let threads = value("Threads:").map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX));
    (rss, threads)
}

/// `/proc/<pid>/schedstat`: nanoseconds on a CPU and waiting on a run
/// queue. Their sum is the CPU time the process *wanted*, which stays
/// honest on a busy machine where a spinning process gets only part of a core.
pub fn parse_schedstat(text: &str) -> Option<(u64, u64)> {
    let mut parts = text.split_whitespace().map(str::parse::<u64>);
    Some((parts.next()?.ok()?, parts.next()?.ok()?))
}

/// What a state letter means for progress.
#[must_use]
pub fn state_name(state: char) -> &'static str {
    match state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "in uninterruptible sleep (D)",
        'T' => "stopped by a signal (state T, e.g. SIGSTOP)",
        't' => "stopped by a debugger (state t)",
        'Z' => "a zombie (exited, not reaped)",
        'X' => "dead",
        'I' => "idle",
        _ => "in an unknown state",
    }
}

/// One reading of a process.
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    pub pid: u32,
    pub stat: Stat,
    pub rss_bytes: u64,
    pub threads: u32,
    /// Nanoseconds on and waiting for a CPU, when the kernel exposes it.
    pub sched_ns: Option<(u64, u64)>,
}

/// Reads one process under `proc_root`; `Ok(None)` if it does not exist.
pub fn read_process(proc_root: &Path, pid: u32) -> anyhow::Result<Option<Process>> {
    let dir = proc_root.join(pid.to_string());
    let stat = match std::fs::read_to_string(dir.join("stat")) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => anyhow::bail!("cannot read {}: {e}", dir.join("stat").display()),
    };
    let stat =
        parse_stat(&stat).map_err(|e| anyhow::anyhow!("{}: {e}", dir.join("stat").display()))?;
    let (rss_bytes, threads) =
        parse_status(&std::fs::read_to_string(dir.join("status")).unwrap_or_default());
    let sched_ns = std::fs::read_to_string(dir.join("schedstat"))
        .ok()
        .and_then(|t| parse_schedstat(&t));
    Ok(Some(Process {
        pid,
        stat,
        rss_bytes,
        threads,
        sched_ns,
    }))
}

/// `/proc/<pid>/cmdline` as one line (NULs to spaces), else `[comm]`.
#[must_use]
pub fn command_line(proc_root: &Path, pid: u32, comm: &str) -> String {
    let raw = std::fs::read(proc_root.join(pid.to_string()).join("cmdline")).unwrap_or_default();
    let line = String::from_utf8_lossy(&raw)
        .trim_end_matches('\0')
        .replace('\0', " ");
    if line.is_empty() {
        format!("[{comm}]")
    } else {
        line
    }
}

/// Every pid under `proc_root`, in ascending order.
pub fn pids(proc_root: &Path) -> anyhow::Result<Vec<u32>> {
    let entries = std::fs::read_dir(proc_root)
        .map_err(|e| anyhow::anyhow!("cannot list {}: {e}", proc_root.display()))?;
    let mut pids: Vec<u32> = entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// This process and its ancestors: their command lines hold the
/// `--process` pattern itself, so they must never match it.
#[must_use]
pub fn self_and_ancestors(proc_root: &Path) -> Vec<u32> {
    let mut chain = vec![std::process::id()];
    while let Some(&pid) = chain.last() {
        let parent = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat"))
            .ok()
            .and_then(|t| parse_stat(&t).ok())
            .map_or(0, |s| s.ppid);
        if parent <= 1 || chain.contains(&parent) || chain.len() > 64 {
            break;
        }
        chain.push(parent);
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real line from this host (`cat /proc/self/stat`), and one whose
    // command name holds a space and a ')'.
    const CAT: &str = "22548 (cat) R 22546 22546 2570 0 -1 4194304 98 0 0 0 7 3 0 0 20 0 1 0 88151 3133440 382 18446744073709551615 93891275923456 93891275943337 140731405064464 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";

    #[test]
    fn parses_stat_fields_after_the_command_name() {
        let stat = parse_stat(CAT).unwrap();
        assert_eq!(stat.comm, "cat");
        assert_eq!(stat.state, 'R');
        assert_eq!(stat.ppid, 22546);
        assert_eq!(stat.cpu_ticks, 10);
        assert_eq!(stat.start_ticks, 88151);
        assert!((stat.cpu_seconds() - 0.1).abs() < 1e-9);
        let odd = CAT.replace("(cat) R", "(a b) T) T");
        let stat = parse_stat(&odd).unwrap();
        assert_eq!((stat.comm.as_str(), stat.state), ("a b) T", 'T'));
    }

    #[test]
    fn a_truncated_stat_is_an_error_naming_the_field() {
        let err = parse_stat("1 (x) S 0 1").unwrap_err();
        assert!(err.contains("field 14"), "{err}");
    }

    #[test]
    fn status_gives_rss_bytes_and_threads() {
        let text = "Name:\tpython3\nVmRSS:\t    1916 kB\nThreads:\t4\n";
        assert_eq!(parse_status(text), (1916 * 1024, 4));
        // A zombie: no VmRSS line.
        assert_eq!(parse_status("Name:\tx\nThreads:\t1\n"), (0, 1));
    }

    #[test]
    fn schedstat_gives_run_and_wait_nanoseconds() {
        assert_eq!(parse_schedstat("0 2264629 1\n"), Some((0, 2_264_629)));
        assert_eq!(parse_schedstat(""), None);
    }
}
