//! A throwaway systemd container for tests, booted as the research on these
//! machines found works although PID 1 is not systemd:
//! `systemd-nspawn --volatile=yes -D / --register=no --keep-unit -b`. Its
//! root is a fresh tmpfs over the host's read-only `/usr`, so nothing it
//! writes reaches the host; `--private-network` gives it its own loopback,
//! so fixed ports inside it collide with nothing. The selfheal binaries,
//! the simulator and the contrib scripts are bound read-only at
//! `/usr/local/bin/<name>`, the paths the shipped units name.
//!
//! What it leaves behind, and `Drop` removes: without a host systemd,
//! systemd-nspawn creates `payload` and `supervisor` cgroups and cannot
//! delete them; they are made inside a cgroup of the container's own
//! (`selfheal-nspawn-<name>` in the `name=systemd` and `unified`
//! hierarchies), removed deepest first once it has exited, and the empty
//! `/run/systemd/nspawn/propagate/<name>` folder it keeps.

use selfheal_test_support::{Cmd, Run, TOOLS, bin, require};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The simulator as `ollama.service` in a container.
pub const SIM_UNIT: &str = "\
[Unit]
Description=ollama-sim standing in for ollama serve
[Service]
ExecStart=/usr/local/bin/ollama-sim --port 11434 --preload llama3.2:1b
Restart=on-failure
";

const HIERARCHIES: [&str; 2] = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"];
const BOOT_DEADLINE: Duration = Duration::from_secs(90);

pub struct Container {
    name: String,
    nspawn: Child,
    leader: u32,
    log: PathBuf,
}

/// Prints a skip so it cannot pass unnoticed in a test log.
fn skip_loudly(test: &str, why: &str) {
    eprintln!(
        "\n!!!!!!!! SKIPPED {test}: {why}\n!!!!!!!! (this test did not run; it is NOT a pass)\n"
    );
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

/// What the container binds at `/usr/local/bin`.
fn binaries() -> Vec<PathBuf> {
    let contrib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib");
    let mut found: Vec<PathBuf> = TOOLS.iter().map(|t| bin(t)).collect();
    found.push(bin("ollama-sim"));
    for dir in ["bin", "no-systemd"] {
        for entry in fs::read_dir(contrib.join(dir)).unwrap() {
            found.push(entry.unwrap().path());
        }
    }
    found
}

impl Container {
    /// Boots a container named `name` (unique per test), or prints a loud
    /// skip and returns `None` where systemd-nspawn cannot run (not root).
    pub fn boot(name: &str) -> Option<Container> {
        Self::boot_with(name, &[])
    }

    /// As `boot`, binding each host folder in `read_only` at the same path.
    pub fn boot_with(name: &str, read_only: &[&Path]) -> Option<Container> {
        if !is_root() {
            skip_loudly(name, "systemd-nspawn needs root");
            return None;
        }
        require("systemd-nspawn", "systemd-container");
        let name = format!("selfheal-{name}-{}", std::process::id());
        let log = std::env::temp_dir().join(format!("{name}.console.log"));
        let mut args: Vec<String> = [
            "--volatile=yes",
            "--directory=/",
            "--register=no",
            "--keep-unit",
            "--console=pipe",
            "--private-network",
            "--tmpfs=/usr/local/bin",
        ]
        .map(String::from)
        .to_vec();
        args.push(format!("--machine={name}"));
        for path in binaries() {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let real = path.canonicalize().unwrap();
            args.push(format!(
                "--bind-ro={}:/usr/local/bin/{file}",
                real.display()
            ));
        }
        for dir in read_only {
            args.push(format!("--bind-ro={}", dir.display()));
        }
        args.push("--boot".into());
        // Enter a cgroup of our own first, so what nspawn leaves is ours to remove.
        let enter = "for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do \
                     mkdir -p \"$h/$0\" && echo $$ > \"$h/$0/cgroup.procs\" || exit 97; done; \
                     exec systemd-nspawn \"$@\"";
        let console = fs::File::create(&log).unwrap();
        let nspawn = Command::new("sh")
            .args(["-c", enter, &format!("selfheal-nspawn-{name}")])
            .args(&args)
            .stdin(Stdio::null())
            .stdout(console.try_clone().unwrap())
            .stderr(console)
            .spawn()
            .expect("spawn systemd-nspawn");
        let mut container = Container {
            name,
            nspawn,
            leader: 0,
            log,
        };
        container.leader = container.find_leader();
        container.wait_booted();
        Some(container)
    }

    fn console(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The container's PID 1 as the host sees it: the descendant of nspawn
    /// running systemd (nspawn forks helpers before it execs systemd).
    fn find_leader(&mut self) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(leader) = descendants(self.nspawn.id()).into_iter().find(|pid| {
                fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "systemd")
            }) {
                return leader;
            }
            if let Ok(Some(status)) = self.nspawn.try_wait() {
                panic!("systemd-nspawn exited ({status}):\n{}", self.console());
            }
            assert!(
                start.elapsed() < BOOT_DEADLINE,
                "systemd-nspawn started no systemd within {BOOT_DEADLINE:?}:\n{}",
                self.console()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_booted(&self) {
        // "degraded" is normal here: host units whose files are absent fail.
        let mut state = String::new();
        self.poll("the container boots", BOOT_DEADLINE, || {
            state = self.run(&["systemctl", "is-system-running"]).stdout;
            matches!(state.trim(), "running" | "degraded")
        });
    }

    /// Runs argv inside the container (every namespace of its PID 1).
    pub fn run(&self, argv: &[&str]) -> Run {
        Cmd::new("nsenter")
            .args(["-t", &self.leader.to_string(), "-a", "--"])
            .args(argv)
            .run()
    }

    /// Runs a `sh -c` script inside the container.
    pub fn sh(&self, script: &str) -> Run {
        self.run(&["sh", "-c", script])
    }

    /// Writes a file inside the container, parents created.
    pub fn write(&self, path: &str, text: &str) {
        let host = self.host_path(path);
        fs::create_dir_all(host.parent().unwrap()).unwrap();
        fs::write(&host, text).unwrap();
    }

    pub fn read(&self, path: &str) -> String {
        fs::read_to_string(self.host_path(path)).unwrap_or_default()
    }

    fn host_path(&self, path: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root{path}", self.leader))
    }

    /// Copies every file in contrib/systemd (drop-in folders too) into
    /// /etc/systemd/system, creates the user selfheal and the textfile
    /// directory it may write, as an install does, and reloads systemd.
    pub fn install_contrib(&self) {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/systemd");
        copy_tree(&source, &self.host_path("/etc/systemd/system"));
        self.sh(
            "useradd --system --user-group --no-create-home --shell /usr/sbin/nologin selfheal \
             && install -d -m 2775 -g selfheal /var/lib/prometheus/node-exporter \
             && systemctl daemon-reload",
        )
        .expect_code(0);
    }

    pub fn systemctl(&self, args: &[&str]) -> Run {
        let mut command = vec!["systemctl", "--no-pager"];
        command.extend_from_slice(args);
        self.run(&command)
    }

    /// One property of a unit (`systemctl show -p NAME --value`).
    pub fn property(&self, unit: &str, name: &str) -> String {
        self.systemctl(&["show", "-p", name, "--value", unit])
            .stdout
            .trim()
            .to_owned()
    }

    /// The journal of the given units, oldest first.
    pub fn journal(&self, units: &[&str]) -> String {
        let mut argv = vec!["journalctl", "--no-pager", "-o", "cat"];
        for unit in units {
            argv.extend(["-u", unit]);
        }
        self.run(&argv).stdout
    }

    /// Polls `done` until it holds, or panics with `what` and the journal.
    pub fn wait_for(&self, what: &str, within: Duration, done: impl FnMut() -> bool) {
        self.poll(what, within, done);
    }

    fn poll(&self, what: &str, within: Duration, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < within,
                "{what}: not within {within:?}\njournal:\n{}\nconsole:\n{}",
                self.run(&["journalctl", "--no-pager", "-n", "200"]).stdout,
                self.console()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Every process below `pid`, parents first.
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(next) = queue.pop() {
        let children =
            fs::read_to_string(format!("/proc/{next}/task/{next}/children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.run(&["systemctl", "poweroff"]);
        let start = Instant::now();
        while !matches!(self.nspawn.try_wait(), Ok(Some(_))) {
            if start.elapsed() > Duration::from_secs(30) {
                // SIGKILL to a PID 1 ends its whole PID namespace.
                let _ = Command::new("kill")
                    .args(["-KILL", &self.leader.to_string()])
                    .status();
                let _ = self.nspawn.kill();
                let _ = self.nspawn.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for hierarchy in HIERARCHIES {
            remove_cgroup_tree(
                &Path::new(hierarchy).join(format!("selfheal-nspawn-{}", self.name)),
            );
        }
        let _ = fs::remove_dir(format!("/run/systemd/nspawn/propagate/{}", self.name));
        let _ = fs::remove_file(&self.log);
    }
}

/// `rmdir` a cgroup and its children, deepest first (a cgroup folder is
/// removed with rmdir, never by deleting its files).
fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}
