//! Signalling other processes without ever hitting the wrong one.
//!
//! A [`Process`] holds a pidfd (Linux 5.3+) and the start time read right
//! after opening it: a signal goes through the pidfd, so a pid recycled
//! between looking and acting is never hit; without pidfd support the start
//! time is checked again right before `kill(2)`. Exit is awaited by polling
//! the pidfd, which works for processes that are not our children.
//! [`terminate_all`] is the TERM, grace, KILL sequence; [`terminate_group`]
//! the same for a process group. [`Process::open_target`] refuses PID 1,
//! ourselves, our ancestors and kernel threads.

use crate::interrupt::Interrupts;
use crate::procstat::{self, ProcStat};
use rustix::fd::OwnedFd;
/// The signal type `Process::signal` takes (rustix's).
pub use rustix::process::Signal;
use rustix::process::{Pid, PidfdFlags};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to wait for a SIGKILLed process to go: a process that is still
/// there after this is stuck in the kernel (state D) and is reported.
pub const KILL_WAIT: Duration = Duration::from_secs(2);

/// A process we may signal, pinned by pidfd and start time.
#[derive(Debug)]
pub struct Process {
    pid: Pid,
    /// `None` for our own unreaped child, whose pid cannot be recycled.
    starttime: Option<u64>,
    pidfd: Option<OwnedFd>,
    proc_root: PathBuf,
}

/// Why a process was not opened for signalling.
#[derive(Debug)]
pub enum Refusal {
    Init,
    Myself,
    Ancestor,
    KernelThread,
    /// The pid now belongs to another process than the one inspected.
    Recycled {
        expected: u64,
        found: u64,
    },
    /// It exited before we could open it.
    Gone,
    Io(io::Error),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Init => f.write_str("it is PID 1 (init), never signalled"),
            Refusal::Myself => f.write_str("it is this process itself"),
            Refusal::Ancestor => f.write_str("it is an ancestor of this process"),
            Refusal::KernelThread => f.write_str("it is a kernel thread"),
            Refusal::Recycled { expected, found } => write!(
                f,
                "its pid was reused (start time {found}, expected {expected})"
            ),
            Refusal::Gone => f.write_str("it has already exited"),
            Refusal::Io(err) => write!(f, "cannot open it: {err}"),
        }
    }
}

/// How a termination ended for one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Gone after SIGTERM, within the grace period (or already gone).
    Exited,
    /// Needed SIGKILL.
    Killed,
    /// Still there after SIGKILL: stuck in the kernel, in this state.
    Survived { state: char },
    /// Still running after SIGTERM: told to stop mid-grace, we sent no KILL.
    Interrupted,
}

/// A signal that was sent (or tried), for an audit line.
#[derive(Debug)]
pub struct Sent<'a> {
    pub process: &'a Process,
    pub signal: Signal,
    pub result: &'a io::Result<()>,
}

impl Process {
    /// Opens `pid` with no safety checks: for our own children.
    pub fn open(proc_root: &Path, pid: i32) -> Result<Process, Refusal> {
        let raw = Pid::from_raw(pid).ok_or(Refusal::Gone)?;
        let pidfd = match rustix::process::pidfd_open(raw, PidfdFlags::empty()) {
            Ok(fd) => Some(fd),
            Err(rustix::io::Errno::SRCH) => return Err(Refusal::Gone),
            Err(_) => None, // ENOSYS (kernel < 5.3) or seccomp: fall back to start times.
        };
        // Read after opening: a matching start time proves the pidfd is this process.
        let stat = read_stat(proc_root, pid)?;
        if stat.is_gone() {
            return Err(Refusal::Gone);
        }
        Ok(Process {
            pid: raw,
            starttime: Some(stat.starttime),
            pidfd,
            proc_root: proc_root.to_owned(),
        })
    }

    /// Our own child, not yet reaped (its pid cannot be recycled).
    #[must_use]
    pub fn child(child: &std::process::Child) -> Process {
        let pid = Pid::from_raw(child.id().cast_signed()).expect("a child has a positive pid");
        Process {
            pid,
            starttime: None,
            pidfd: rustix::process::pidfd_open(pid, PidfdFlags::empty()).ok(),
            proc_root: PathBuf::from(procstat::PROC_ROOT),
        }
    }

    /// Opens a process to be signalled: refuses PID 1, ourselves, our
    /// ancestors and kernel threads, and (given `expected_start`) a pid
    /// that now names a different process than the one inspected.
    pub fn open_target(
        proc_root: &Path,
        pid: i32,
        expected_start: Option<u64>,
    ) -> Result<Process, Refusal> {
        protected(proc_root, pid)?;
        let process = Process::open(proc_root, pid)?;
        let stat = read_stat(proc_root, pid)?;
        if stat.is_kernel_thread() {
            return Err(Refusal::KernelThread);
        }
        match (expected_start, process.starttime) {
            (Some(expected), Some(found)) if expected != found => {
                Err(Refusal::Recycled { expected, found })
            }
            _ => Ok(process),
        }
    }

    #[must_use]
    pub fn pid(&self) -> i32 {
        self.pid.as_raw_nonzero().get()
    }

    #[must_use]
    pub fn starttime(&self) -> Option<u64> {
        self.starttime
    }

    /// Whether signals go through a pidfd (else through a start-time check).
    #[must_use]
    pub fn has_pidfd(&self) -> bool {
        self.pidfd.is_some()
    }

    /// Sends `signal`. `ESRCH` means it is gone; without a pidfd, a start
    /// time that changed also reads as `ESRCH` (the pid is someone else's).
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        if let Some(fd) = &self.pidfd {
            return Ok(rustix::process::pidfd_send_signal(fd, signal)?);
        }
        if !self.is_running() {
            return Err(rustix::io::Errno::SRCH.into());
        }
        Ok(rustix::process::kill_process(self.pid, signal)?)
    }

    /// Still running (not exited, not a zombie, pid not reused)?
    #[must_use]
    pub fn is_running(&self) -> bool {
        match procstat::read(&self.proc_root, self.pid()) {
            Ok(stat) => !stat.is_gone() && self.starttime.is_none_or(|s| s == stat.starttime),
            Err(_) => false,
        }
    }

    /// Its state letter now (`R`, `S`, `D`, `T`, `Z`...), if readable.
    #[must_use]
    pub fn state(&self) -> Option<char> {
        procstat::read(&self.proc_root, self.pid())
            .ok()
            .filter(|stat| self.starttime.is_none_or(|s| s == stat.starttime))
            .map(|stat| stat.state)
    }

    /// Waits until it has exited or `deadline` passes; true if it exited.
    #[must_use]
    pub fn wait_exit(&self, deadline: Instant) -> bool {
        let mut pause = Duration::from_micros(200);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(fd) = &self.pidfd {
                if poll_readable(fd, left) {
                    return true;
                }
            } else if !self.is_running() {
                return true;
            } else {
                // Kernels before 5.3 have no pidfd: poll with a growing pause.
                std::thread::sleep(pause.min(left));
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            if Instant::now() >= deadline {
                return !self.is_running();
            }
        }
    }
}

const STOP_CHECK: Duration = Duration::from_millis(50); // how often a watched grace looks

/// TERM (and CONT, so a stopped process can act on it) to every process,
/// up to `grace` for all of them to exit, KILL to the rest, then up to
/// [`KILL_WAIT`]. `on_signal` sees every signal sent, for an audit log.
pub fn terminate_all(
    processes: &[Process],
    grace: Duration,
    on_signal: impl FnMut(Sent<'_>),
) -> Vec<Ending> {
    terminate_all_watched(processes, grace, None, on_signal)
}

/// [`terminate_all`], but a stop signal noted by `interrupts` (before or
/// during the grace) ends it: what still runs gets no KILL (or no signal
/// at all) and is [`Ending::Interrupted`], for the caller to record.
pub fn terminate_all_watched(
    processes: &[Process],
    grace: Duration,
    interrupts: Option<&Interrupts>,
    mut on_signal: impl FnMut(Sent<'_>),
) -> Vec<Ending> {
    if interrupts.and_then(Interrupts::received).is_some() {
        return vec![Ending::Interrupted; processes.len()];
    }
    let mut send = |process: &Process, signal: Signal| {
        let result = process.signal(signal);
        on_signal(Sent {
            process,
            signal,
            result: &result,
        });
        result
    };
    for process in processes {
        if send(process, Signal::TERM).is_ok() {
            let _ = process.signal(Signal::CONT);
        }
    }
    let mut exited = vec![false; processes.len()];
    if wait_all(processes, &mut exited, Instant::now() + grace, interrupts) {
        return exited
            .iter()
            .map(|&gone| {
                if gone {
                    Ending::Exited
                } else {
                    Ending::Interrupted
                }
            })
            .collect();
    }
    let mut killed = vec![false; processes.len()];
    for (index, process) in processes.iter().enumerate() {
        if !exited[index] {
            killed[index] = send(process, Signal::KILL).is_ok();
        }
    }
    let kill_end = Instant::now() + KILL_WAIT;
    processes
        .iter()
        .enumerate()
        .map(|(index, process)| match (exited[index], killed[index]) {
            (true, _) => Ending::Exited,
            (false, _) if process.wait_exit(kill_end) => Ending::Killed,
            _ => Ending::Survived {
                state: process.state().unwrap_or('?'),
            },
        })
        .collect()
}

/// Waits until every process has exited (marking `exited`) or `deadline`
/// passes; true if a stop signal cut the wait short.
fn wait_all(
    processes: &[Process],
    exited: &mut [bool],
    deadline: Instant,
    interrupts: Option<&Interrupts>,
) -> bool {
    loop {
        let check = Instant::now() + STOP_CHECK;
        let slice = interrupts.map_or(deadline, |_| deadline.min(check));
        for (gone, process) in exited.iter_mut().zip(processes) {
            *gone = *gone || process.wait_exit(slice);
        }
        if interrupts.and_then(Interrupts::received).is_some() {
            return true;
        }
        if exited.iter().all(|&gone| gone) || Instant::now() >= deadline {
            return false;
        }
    }
}

/// The same for one process.
pub fn terminate(process: &Process, grace: Duration, on_signal: impl FnMut(Sent<'_>)) -> Ending {
    let one = std::slice::from_ref(process);
    terminate_all(one, grace, on_signal)[0]
}

/// TERM (and CONT) to the process group that `leader` leads, up to `grace`
/// for the leader to exit, then KILL to the whole group regardless: its
/// other members may outlive the leader. Refuses our own group.
pub fn terminate_group(leader: &Process, grace: Duration) -> Result<Ending, Refusal> {
    use rustix::process::kill_process_group;
    if leader.pid == rustix::process::getpgrp() {
        return Err(Refusal::Myself);
    }
    if leader.pid() == 1 {
        return Err(Refusal::Init);
    }
    let _ = kill_process_group(leader.pid, Signal::TERM);
    let _ = kill_process_group(leader.pid, Signal::CONT);
    let exited = leader.wait_exit(Instant::now() + grace);
    let _ = kill_process_group(leader.pid, Signal::KILL);
    Ok(if exited {
        Ending::Exited
    } else if leader.wait_exit(Instant::now() + KILL_WAIT) {
        Ending::Killed
    } else {
        Ending::Survived {
            state: leader.state().unwrap_or('?'),
        }
    })
}

/// `TERM`, `KILL`... for messages and audit lines.
#[must_use]
pub fn signal_name(signal: Signal) -> &'static str {
    match signal {
        Signal::TERM => "TERM",
        Signal::KILL => "KILL",
        Signal::CONT => "CONT",
        Signal::STOP => "STOP",
        Signal::INT => "INT",
        Signal::HUP => "HUP",
        _ => "other",
    }
}

/// The pids of our parent, its parent, and so on up to PID 1.
#[must_use]
pub fn ancestors(proc_root: &Path) -> Vec<i32> {
    let mut chain = Vec::new();
    let mut pid = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
    while pid > 0 && !chain.contains(&pid) {
        chain.push(pid);
        pid = procstat::read(proc_root, pid).map_or(0, |stat| stat.ppid);
    }
    chain
}

fn protected(proc_root: &Path, pid: i32) -> Result<(), Refusal> {
    if pid == 1 {
        return Err(Refusal::Init);
    }
    if pid == std::process::id().cast_signed() {
        return Err(Refusal::Myself);
    }
    if ancestors(proc_root).contains(&pid) {
        return Err(Refusal::Ancestor);
    }
    Ok(())
}

fn read_stat(proc_root: &Path, pid: i32) -> Result<ProcStat, Refusal> {
    procstat::read(proc_root, pid).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => Refusal::Gone,
        _ => Refusal::Io(err),
    })
}

/// Polls `fd` for readability up to `limit`; EINTR reads as "not yet".
fn poll_readable(fd: &OwnedFd, limit: Duration) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let timeout = Timespec {
        tv_sec: i64::try_from(limit.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(limit.subsec_nanos()),
    };
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&timeout)), Ok(n) if n > 0)
}
