//! Running a user's command: argv executed directly (never a shell), in a
//! process group of its own, with a deadline that covers the whole run.
//!
//! On timeout the whole group gets SIGTERM, then SIGKILL after a short
//! grace: a hanging `systemctl restart` or producer script must not outlive
//! the deadline, and neither may the children it forked. Output is read
//! until EOF or the deadline, so a child that keeps the pipe open cannot
//! hold us either.

use crate::interrupt::Interrupts;
use crate::process::{self, Process};
use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Time between SIGTERM and SIGKILL for a command that timed out.
pub const KILL_GRACE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Spec {
    pub argv: Vec<OsString>,
    pub timeout: Duration,
    /// Capture stdout (else it is inherited).
    pub capture_stdout: bool,
    /// Send the command's stdout to our stderr (when not captured), so a
    /// tool whose stdout is one report line or JSON object stays parseable.
    pub stdout_to_stderr: bool,
    /// Extra environment for the command.
    pub env: Vec<(OsString, OsString)>,
}

impl Spec {
    #[must_use]
    pub fn new(argv: Vec<OsString>, timeout: Duration) -> Self {
        Spec {
            argv,
            timeout,
            capture_stdout: false,
            stdout_to_stderr: false,
            env: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub struct Finished {
    /// `None` when the command was killed for running past its deadline.
    pub status: Option<ExitStatus>,
    /// When the deadline passed after the command itself had exited, while
    /// a process it started still held its stdout open: that exit status.
    pub exited_holding_stdout: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub elapsed: Duration,
    /// The deadline it was given, for messages.
    pub timeout: Duration,
    /// The stop signal we received while it ran; its group was stopped.
    pub interrupted: Option<i32>,
}

impl Finished {
    #[must_use]
    pub fn timed_out(&self) -> bool {
        self.status.is_none() && self.interrupted.is_none()
    }

    /// `exit 0`, `exit 3`, `killed by signal 9`, or `timed out after 2m`.
    #[must_use]
    pub fn describe(&self) -> String {
        let limit = crate::duration::human(self.timeout);
        if let Some(signal) = self.interrupted {
            return format!(
                "interrupted: we received {} after {}, and stopped its process group",
                crate::interrupt::signal_name(signal),
                crate::duration::human(self.elapsed)
            );
        }
        match (self.status, self.exited_holding_stdout) {
            (Some(status), _) => describe_status(status),
            (None, Some(leader)) => format!(
                "timed out after {limit}: it ended ({}) but a process it started kept its output open",
                describe_status(leader)
            ),
            (None, None) => format!("timed out after {limit}"),
        }
    }
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => "ended oddly".into(),
    }
}

/// The error of a command that never started (`execve` failed, or no
/// process could be made): nothing of it ran.
#[derive(Debug)]
pub struct NotStarted(String);

impl std::fmt::Display for NotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotStarted {}

/// Whether an error of [`run`] means the command never started, as
/// opposed to one that failed while it ran (it may have acted).
#[must_use]
pub fn never_started(err: &io::Error) -> bool {
    err.get_ref()
        .is_some_and(<dyn std::error::Error + Send + Sync>::is::<NotStarted>)
}

/// Runs `spec` to completion or its deadline. Errors only when the command
/// cannot be started at all (not found, not executable).
pub fn run(spec: &Spec) -> io::Result<Finished> {
    run_watched(spec, None)
}

/// Like [`run`], but a stop signal noted by `interrupts` while the command
/// runs stops its whole group (TERM, grace, KILL) at once; `interrupted`
/// then says which signal, so the caller can record it before exiting.
pub fn run_until_stopped(spec: &Spec, interrupts: &Interrupts) -> io::Result<Finished> {
    run_watched(spec, Some(interrupts))
}

fn run_watched(spec: &Spec, interrupts: Option<&Interrupts>) -> io::Result<Finished> {
    let started = Instant::now();
    let deadline = started + spec.timeout;
    let (program, args) = spec
        .argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .process_group(0);
    if spec.capture_stdout {
        command.stdout(Stdio::piped());
    } else if spec.stdout_to_stderr {
        command.stdout(Stdio::from(io::stderr().as_fd().try_clone_to_owned()?));
    }
    let mut child = command.spawn().map_err(|e| {
        let why = format!("cannot run {}: {e}", program.to_string_lossy());
        io::Error::new(e.kind(), NotStarted(why))
    })?;
    let leader = Process::child(&child);

    let reader = child.stdout.take().map(|mut pipe| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let result = pipe.read_to_end(&mut buf).map(|_| buf);
            let _ = tx.send(result);
        });
        rx
    });

    let (status, interrupted) = wait_until(&mut child, &leader, deadline, interrupts)?;
    let stdout = match (&reader, status) {
        (Some(rx), Some(_)) => {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(result) => Some(result?),
                Err(_) => None,
            }
        }
        _ => Some(Vec::new()),
    };
    let exited = status;
    let (status, stdout) = if let (Some(status), Some(stdout)) = (status, stdout) {
        (Some(status), stdout)
    } else {
        kill_group(&leader, &mut child);
        (None, Vec::new())
    };
    Ok(Finished {
        status,
        exited_holding_stdout: if status.is_none() { exited } else { None },
        stdout,
        elapsed: started.elapsed(),
        timeout: spec.timeout,
        interrupted,
    })
}

/// How often a watched wait looks for a stop signal: the child's exit
/// still wakes it at once (pidfd); a signal waits at most this long.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

fn wait_until(
    child: &mut std::process::Child,
    leader: &Process,
    deadline: Instant,
    interrupts: Option<&Interrupts>,
) -> io::Result<(Option<ExitStatus>, Option<i32>)> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((Some(status), None));
        }
        if let Some(signal) = interrupts.and_then(Interrupts::received) {
            return Ok((None, Some(signal)));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok((None, None));
        }
        let slice = match interrupts {
            Some(_) => deadline.min(now + SIGNAL_CHECK),
            None => deadline,
        };
        // Returns the instant the child exits, so a quick command (`true`,
        // a small `systemctl restart`) costs no sleep overshoot.
        let _ = leader.wait_exit(slice);
    }
}

fn kill_group(leader: &Process, child: &mut std::process::Child) {
    // The child leads a group of its own (process_group(0)), never ours.
    let _ = process::terminate_group(leader, KILL_GRACE);
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(parts: &[&str]) -> Vec<OsString> {
        parts.iter().map(OsString::from).collect()
    }

    #[test]
    fn captures_stdout_and_exit_code() {
        let mut spec = Spec::new(
            argv(&["sh", "-c", "echo hello; exit 3"]),
            Duration::from_secs(10),
        );
        spec.capture_stdout = true;
        let done = run(&spec).unwrap();
        assert_eq!(done.stdout, b"hello\n");
        assert_eq!(done.describe(), "exit 3");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let script = format!("sleep 600 & echo $! > {}; wait", pidfile.display());
        // 2 s leaves a loaded machine time to start sh and write the pidfile.
        let spec = Spec::new(argv(&["sh", "-c", &script]), Duration::from_secs(2));
        let done = run(&spec).unwrap();
        assert!(done.timed_out());
        assert!(done.elapsed < Duration::from_secs(5), "{:?}", done.elapsed);
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The orphaned `sleep` was in the group and must be gone (or a zombie
        // reaped by init).
        assert!(dies_soon(pid), "grandchild {pid} survived");
    }

    #[test]
    fn child_holding_the_pipe_open_cannot_outlast_the_deadline() {
        let mut spec = Spec::new(
            argv(&["sh", "-c", "echo partial; sleep 600 &"]),
            Duration::from_millis(300),
        );
        spec.capture_stdout = true;
        let done = run(&spec).unwrap();
        assert!(done.timed_out(), "{}", done.describe());
        assert_eq!(
            done.describe(),
            "timed out after 300ms: it ended (exit 0) but a process it started kept its output open"
        );
    }

    #[test]
    fn stdout_can_go_to_stderr() {
        let mut spec = Spec::new(
            argv(&["sh", "-c", "echo to-stderr"]),
            Duration::from_secs(10),
        );
        spec.stdout_to_stderr = true;
        let done = run(&spec).unwrap();
        assert_eq!(done.describe(), "exit 0");
        assert!(done.stdout.is_empty());
    }

    #[test]
    fn a_stop_signal_stops_the_whole_group_and_says_so() {
        let name = "command::tests::a_stop_signal_stops_the_whole_group_and_says_so";
        if !crate::testing::in_own_process(name, &[]) {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let script = format!("sleep 600 & echo $! > {}; wait", pidfile.display());
        let interrupts = Interrupts::watch().unwrap();
        let signaller = std::thread::spawn(move || {
            while !pidfile.exists() {
                std::thread::sleep(Duration::from_millis(10));
            }
            signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();
            pidfile
        });
        let spec = Spec::new(argv(&["sh", "-c", &script]), Duration::from_secs(60));
        let done = run_until_stopped(&spec, &interrupts).unwrap();
        let pidfile = signaller.join().unwrap();
        assert!(done.elapsed < Duration::from_secs(10), "{:?}", done.elapsed);
        assert!(!done.timed_out());
        assert!(
            done.describe()
                .starts_with("interrupted: we received SIGTERM after"),
            "{}",
            done.describe()
        );
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(dies_soon(pid), "grandchild {pid} survived");
    }

    /// SIGKILL to a group is delivered asynchronously: on a loaded machine
    /// a member can show in /proc for a moment after the call returns.
    fn dies_soon(pid: i32) -> bool {
        let gone = || {
            crate::procstat::read(std::path::Path::new("/proc"), pid).map_or(true, |s| s.is_gone())
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !gone() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        gone()
    }

    #[test]
    fn missing_program_is_an_error_naming_it() {
        let err = run(&Spec::new(
            argv(&["/nonexistent/prog"]),
            Duration::from_secs(1),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/prog"), "{err}");
        assert!(never_started(&err));
        assert!(!never_started(&io::Error::other("read failed")));
    }

    #[test]
    fn told_to_stop_before_terminating_nothing_is_signalled() {
        let name = "command::tests::told_to_stop_before_terminating_nothing_is_signalled";
        if !crate::testing::in_own_process(name, &[]) {
            return;
        }
        let interrupts = Interrupts::watch().unwrap();
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let target = Process::child(&child);
        signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();
        let mut sent = 0;
        let one = std::slice::from_ref(&target);
        let grace = Duration::from_secs(30);
        let endings = process::terminate_all_watched(one, grace, Some(&interrupts), |_| sent += 1);
        assert_eq!(endings, [process::Ending::Interrupted]);
        assert_eq!(sent, 0, "no signal once told to stop");
        assert!(target.is_running());
        let _ = child.kill();
        let _ = child.wait();
    }
}
