//! Process control against real processes: TERM-grace-KILL, stopped
//! processes, recycled pids, process groups and the refusal rules.

use selfheal_core::process::{self, Ending, Process, Refusal};
use selfheal_core::procstat;
use selfheal_test_support::clean_command;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn proc_root() -> &'static Path {
    Path::new(procstat::PROC_ROOT)
}

/// A child killed and reaped on drop, started once it printed its first line.
struct Helper {
    child: Child,
    first_line: String,
}

impl Helper {
    fn start(script: &str, own_group: bool) -> Helper {
        let mut command = clean_command("sh");
        command.args(["-c", script]).stdout(Stdio::piped());
        if own_group {
            command.process_group(0);
        }
        let mut child = command.spawn().expect("spawn sh");
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        Helper { child, first_line }
    }

    fn pid(&self) -> i32 {
        self.child.id().cast_signed()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_state(pid: i32, wanted: char) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while procstat::read(proc_root(), pid).ok().map(|s| s.state) != Some(wanted) {
        assert!(
            Instant::now() < deadline,
            "pid {pid} never reached state {wanted}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn alive(pid: i32) -> bool {
    procstat::read(proc_root(), pid).is_ok_and(|s| !s.is_gone())
}

#[test]
fn a_child_ignoring_term_is_killed_after_the_grace() {
    let helper = Helper::start("trap '' TERM; echo ready; exec sleep 600", false);
    let target = Process::open_target(proc_root(), helper.pid(), None).unwrap();
    assert!(target.has_pidfd(), "this kernel has pidfds");
    let mut sent = Vec::new();
    let started = Instant::now();
    let ending = process::terminate(&target, Duration::from_millis(400), |s| {
        sent.push((process::signal_name(s.signal), s.result.is_ok()));
    });
    assert_eq!(ending, Ending::Killed);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "KILL came before the grace"
    );
    assert_eq!(sent, [("TERM", true), ("KILL", true)]);
}

#[test]
fn a_stopped_process_gets_cont_so_it_can_act_on_term() {
    // Its TERM handler exits cleanly: it can only run once the process is continued.
    let helper = Helper::start(
        "trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done",
        false,
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(helper.pid()).unwrap(),
        rustix::process::Signal::STOP,
    )
    .unwrap();
    wait_for_state(helper.pid(), 'T');
    let target = Process::open_target(proc_root(), helper.pid(), None).unwrap();
    let ending = process::terminate(&target, Duration::from_secs(20), |_| {});
    assert_eq!(
        ending,
        Ending::Exited,
        "the stopped shell should exit on TERM after CONT"
    );
}

#[test]
fn a_recycled_pid_is_refused_and_left_alone() {
    let helper = Helper::start("echo ready; exec sleep 600", false);
    let real = procstat::read(proc_root(), helper.pid()).unwrap().starttime;
    let refused = Process::open_target(proc_root(), helper.pid(), Some(real - 1)).unwrap_err();
    assert!(
        matches!(refused, Refusal::Recycled { expected, found } if expected == real - 1 && found == real),
        "{refused}"
    );
    assert!(alive(helper.pid()));
    assert!(Process::open_target(proc_root(), helper.pid(), Some(real)).is_ok());
}

#[test]
fn a_non_child_is_awaited_through_its_pidfd() {
    // The sleep is the shell's child, not ours.
    let helper = Helper::start("sleep 600 & echo $!; wait", false);
    let pid: i32 = helper.first_line.trim().parse().unwrap();
    let target = Process::open_target(proc_root(), pid, None).unwrap();
    assert!(!target.wait_exit(Instant::now() + Duration::from_millis(50)));
    let ending = process::terminate(&target, Duration::from_secs(20), |_| {});
    assert_eq!(ending, Ending::Exited);
    assert!(!alive(pid));
}

#[test]
fn group_termination_kills_grandchildren() {
    let mut helper = Helper::start("trap '' TERM; sleep 600 & echo $!; wait", true);
    let grandchild: i32 = helper.first_line.trim().parse().unwrap();
    let leader = Process::child(&helper.child);
    let ending = process::terminate_group(&leader, Duration::from_millis(300)).unwrap();
    assert_eq!(ending, Ending::Killed, "leader and grandchild ignore TERM");
    let _ = helper.child.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(grandchild) {
        assert!(
            Instant::now() < deadline,
            "grandchild {grandchild} survived"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn init_ourselves_and_our_ancestors_are_refused() {
    let me = std::process::id().cast_signed();
    let parent = procstat::read(proc_root(), me).unwrap().ppid;
    assert!(matches!(
        Process::open_target(proc_root(), 1, None),
        Err(Refusal::Init)
    ));
    assert!(matches!(
        Process::open_target(proc_root(), me, None),
        Err(Refusal::Myself)
    ));
    assert!(matches!(
        Process::open_target(proc_root(), parent, None),
        Err(Refusal::Ancestor)
    ));
    assert!(process::ancestors(proc_root()).contains(&parent));
}

#[test]
fn kernel_threads_are_refused() {
    // kthreadd is PID 2 whenever the kernel has its own pid namespace here.
    let Ok(stat) = procstat::read(proc_root(), 2) else {
        panic!("no /proc/2 on this host: cannot test the kernel-thread refusal");
    };
    assert!(stat.is_kernel_thread(), "{stat:?}");
    assert!(matches!(
        Process::open_target(proc_root(), 2, None),
        Err(Refusal::KernelThread)
    ));
}

#[test]
fn a_process_that_exited_is_gone() {
    let mut helper = Helper::start("echo ready", false);
    let pid = helper.pid();
    helper.child.wait().unwrap();
    assert!(matches!(
        Process::open_target(proc_root(), pid, None),
        Err(Refusal::Gone)
    ));
}
