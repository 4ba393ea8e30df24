//! Being told to stop (SIGTERM, SIGINT, SIGHUP) mid-run. The run goes on
//! a worker thread while this thread waits for it or for a stop signal.
//! Probing writes nothing, so a stop while probing ends the process at
//! once, as the signal's default action would. A stop while the journal
//! child runs waits for that child to end (its deadline is seconds), so
//! nothing started outlives the check. Once the worker has begun writing
//! (the history, then the textfile) a stop waits for the writing to end:
//! a stop never leaves a temp file or half of an update behind.

use selfheal_core::Outcome;
use selfheal_core::interrupt::Interrupts;
use std::io::Write as _;
use std::os::unix::net::UnixStream;
use std::sync::{Condvar, Mutex, PoisonError};

struct Gate {
    stopping: bool,
    writing: bool,
    children: u32,
}

const OPEN: Gate = Gate {
    stopping: false,
    writing: false,
    children: 0,
};

static GATE: Mutex<Gate> = Mutex::new(OPEN);
static CHANGED: Condvar = Condvar::new();

fn gate() -> std::sync::MutexGuard<'static, Gate> {
    GATE.lock().unwrap_or_else(PoisonError::into_inner)
}

const STOPPED: &str = "stopped by a signal before anything was written";

/// The worker is about to write; `Err` when a stop came first (then it
/// must write nothing).
pub fn begin_writing() -> anyhow::Result<()> {
    let mut g = gate();
    anyhow::ensure!(!g.stopping, STOPPED);
    g.writing = true;
    Ok(())
}

/// Held while a child process runs; a stop waits until it is dropped.
pub struct ChildSection(());

/// The worker is about to start a child; `None` when a stop came first.
#[must_use]
pub fn child_section() -> Option<ChildSection> {
    let mut g = gate();
    if g.stopping {
        return None;
    }
    g.children += 1;
    Some(ChildSection(()))
}

impl Drop for ChildSection {
    fn drop(&mut self) {
        gate().children -= 1;
        CHANGED.notify_all();
    }
}

/// Runs `work` on a worker thread, ending the process by the stop signal
/// if one arrives before the worker began writing.
pub fn guarded(work: impl FnOnce() -> Outcome + Send) -> Outcome {
    // A run in a process that ran one before starts afresh.
    *gate() = OPEN;
    let Ok(interrupts) = Interrupts::watch() else {
        return work();
    };
    let Ok((done_rx, mut done_tx)) = UnixStream::pair() else {
        return work();
    };
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            let outcome = work();
            let _ = done_tx.write_all(b"x");
            outcome
        });
        loop {
            wait(&interrupts, &done_rx);
            if let Some(signal) = interrupts.received() {
                stop(interrupts, signal);
                break;
            }
            if worker.is_finished() {
                break;
            }
        }
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Until the worker is done or a stop signal arrives.
fn wait(interrupts: &Interrupts, done: &UnixStream) {
    use rustix::event::{PollFd, PollFlags, poll};
    let stop = interrupts.fd();
    let mut fds = [
        PollFd::new(&stop, PollFlags::IN),
        PollFd::new(done, PollFlags::IN),
    ];
    while poll(&mut fds, None).is_err() {}
}

/// A stop arrived: let a child or the writing finish, then end the
/// process by the signal, unless the worker is writing (it then finishes
/// and its outcome is printed).
fn stop(interrupts: Interrupts, signal: i32) {
    let mut g = gate();
    g.stopping = true;
    while g.children > 0 {
        g = CHANGED.wait(g).unwrap_or_else(PoisonError::into_inner);
    }
    if g.writing {
        return;
    }
    drop(g);
    // Without our handlers the signal does what it would have done.
    drop(interrupts);
    let _ = signal_hook::low_level::raise(signal);
}
