//! Being told to stop (SIGTERM from systemd or `timeout`, SIGINT from
//! Ctrl-C, SIGHUP from a closed terminal) while a child runs. A tool that
//! started something stops it first and records what happened; nothing it
//! started outlives it unseen.
//!
//! [`Interrupts::watch`] installs handlers that only note the signal and
//! wake a poll (a self-pipe), so a wait loop can poll the child's pidfd and
//! [`Interrupts::fd`] together. Once it is dropped, a stop signal ends the
//! process as it would have without it.

use signal_hook::SigId;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The signals that mean "stop now".
pub const STOP_SIGNALS: [i32; 3] = [SIGTERM, SIGINT, SIGHUP];

/// Handlers for the stop signals, live until dropped.
pub struct Interrupts {
    wake: UnixStream,
    received: Arc<AtomicUsize>,
    ids: Vec<SigId>,
    /// Set on drop: from then on a stop signal does what it did before
    /// (signal-hook cannot put the old handler back, so it emulates it).
    default_again: Arc<AtomicBool>,
}

impl Interrupts {
    /// Starts noting SIGTERM, SIGINT and SIGHUP instead of dying of them.
    pub fn watch() -> io::Result<Interrupts> {
        let (wake, write) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let received = Arc::new(AtomicUsize::new(0));
        let mut interrupts = Interrupts {
            wake,
            received,
            ids: Vec::new(),
            default_again: Arc::new(AtomicBool::new(false)),
        };
        for signal in STOP_SIGNALS {
            signal_hook::flag::register_conditional_default(
                signal,
                interrupts.default_again.clone(),
            )?;
            let value = usize::try_from(signal).unwrap_or(0);
            let flag =
                signal_hook::flag::register_usize(signal, interrupts.received.clone(), value)?;
            interrupts.ids.push(flag);
            // Registered after the flag: when the poll wakes, the flag is set.
            let pipe = signal_hook::low_level::pipe::register(signal, write.try_clone()?)?;
            interrupts.ids.push(pipe);
        }
        Ok(interrupts)
    }

    /// Readable once a stop signal arrived: poll it beside what you wait on.
    #[must_use]
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// The stop signal received so far, if any (the latest one).
    #[must_use]
    pub fn received(&self) -> Option<i32> {
        let mut drain = [0u8; 16];
        while matches!((&self.wake).read(&mut drain), Ok(n) if n > 0) {}
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            signal => i32::try_from(signal).ok(),
        }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        self.default_again.store(true, Ordering::SeqCst);
    }
}

/// `SIGTERM`, `SIGINT`, `SIGHUP`, or the number.
#[must_use]
pub fn signal_name(signal: i32) -> String {
    signal_hook::low_level::signal_name(signal)
        .map_or_else(|| format!("signal {signal}"), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn a_stop_signal_is_noted_and_wakes_the_poll_instead_of_killing() {
        let name = "interrupt::tests::a_stop_signal_is_noted_and_wakes_the_poll_instead_of_killing";
        if !crate::testing::in_own_process(name, &[]) {
            return;
        }
        let interrupts = Interrupts::watch().unwrap();
        assert_eq!(interrupts.received(), None);
        signal_hook::low_level::raise(SIGHUP).unwrap();
        let fd = interrupts.fd();
        let mut fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        let timeout = rustix::event::Timespec {
            tv_sec: 5,
            tv_nsec: 0,
        };
        assert_eq!(rustix::event::poll(&mut fds, Some(&timeout)).unwrap(), 1);
        assert_eq!(interrupts.received(), Some(SIGHUP));
        assert_eq!(signal_name(SIGHUP), "SIGHUP");
    }

    #[test]
    fn after_drop_a_stop_signal_ends_the_process_again() {
        // Its own process, which the signal must end; the harness sees
        // that as a failure, which is what this test expects.
        if std::env::var_os("SELFHEAL_TEST_ONLY_CHILD").is_none() {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "interrupt::tests::after_drop_a_stop_signal_ends_the_process_again",
                ])
                .env("SELFHEAL_TEST_ONLY_CHILD", "1")
                .output()
                .unwrap();
            assert_eq!(out.status.signal(), Some(SIGTERM), "{out:?}");
            return;
        }
        drop(Interrupts::watch().unwrap());
        signal_hook::low_level::raise(SIGTERM).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(5));
    }
}
