//! Layer 0, processes and port, from `/proc` (a root parameter, so tests
//! use fixture trees): who listens on the server's port
//! (`net/tcp`, `net/tcp6`, then the owner's `fd/` links), its runner
//! children (`llama-server` of v0.30+, `ollama runner` of v0.5.2-v0.29,
//! `ollama_llama_server` before) with their `--port` and `--model`, CPU
//! time and state, and the systemd unit owning the server (`cgroup`).
//! Every process's `comm` is read, `stat` and `cmdline` only for the few
//! that could be a runner or a server: the walk runs every few seconds.
//! EACCES and vanished processes while walking are normal and skipped.

use selfheal_core::procstat::{self, ProcStat};
use serde::Serialize;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// A runner child as its command line describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runner {
    pub pid: u32,
    pub ppid: u32,
    pub state: char,
    pub cpu_ticks: u64,
    pub port: Option<u16>,
    /// The `--model` blob path.
    pub model: String,
}

/// Whether argv (and comm) is an Ollama runner; returns `(port, model)`.
#[must_use]
pub fn runner_args(comm: &str, argv: &[String]) -> Option<(Option<u16>, String)> {
    let exe = argv.first().map(|a| a.rsplit('/').next().unwrap_or(a))?;
    let is_runner = comm == "llama-server"
        || comm.starts_with("ollama_llama_se")
        || exe == "llama-server"
        || exe == "ollama_llama_server"
        || (exe == "ollama" && argv.get(1).is_some_and(|a| a == "runner"));
    if !is_runner {
        return None;
    }
    let value = |flag: &str| {
        argv.iter()
            .position(|a| a == flag)
            .and_then(|i| argv.get(i + 1))
            .cloned()
    };
    let model = value("--model").or_else(|| value("-m"))?;
    Some((value("--port").and_then(|p| p.parse().ok()), model))
}

/// Socket inodes listening on `port` in a `net/tcp` or `net/tcp6` table.
#[must_use]
pub fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f.get(1)?.rsplit(':').next()?;
            let listening = *f.get(3)? == "0A";
            (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                .then(|| f.get(9)?.parse().ok())
                .flatten()
        })
        .collect()
}

/// The systemd unit a process belongs to, from `/proc/<pid>/cgroup`:
/// `(unit, user)`; only `.service` units (a scope or a container cannot
/// be restarted with `systemctl restart`).
#[must_use]
pub fn unit_from_cgroup(text: &str) -> Option<(String, bool)> {
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .or_else(|| {
            text.lines()
                .find_map(|l| l.split_once(":name=systemd:").map(|(_, p)| p))
        })?;
    let user = path.contains("/user@");
    path.split('/')
        .rev()
        .find(|part| part.ends_with(".service") && !part.starts_with("user@"))
        .map(|unit| (unit.to_owned(), user))
}

/// What layer 0 found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct View {
    /// Something listens on the port (`None`: the tables were unreadable).
    pub listening: Option<bool>,
    pub server: Option<Server>,
    pub runners: Vec<Runner>,
    /// Runners whose server is gone: reparented to init or a subreaper.
    pub orphans: Vec<Runner>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Server {
    pub pid: u32,
    pub comm: String,
    pub state: char,
    pub cpu_ticks: u64,
    /// Seconds since the process started.
    pub age_secs: f64,
    pub unit: Option<String>,
    pub user_unit: bool,
}

struct Proc {
    pid: u32,
    comm: String,
    /// Read for the processes named like Ollama's (see [`named_like_ollama`]).
    stat: Option<ProcStat>,
    argv: Vec<String>,
}

/// A name a runner or an Ollama server has: only these are read whole.
fn named_like_ollama(comm: &str) -> bool {
    comm == "llama-server" || comm.starts_with("ollama")
}

/// Reads layer 0 for a server on `port` under `root` (normally `/proc`);
/// `listeners` are the listening socket inodes when already known (from
/// sock_diag), else they are read from `root`'s `net/tcp` tables.
#[must_use]
pub fn look(root: &Path, port: u16, listeners: Option<Vec<u64>>) -> View {
    let procs = processes(root);
    let inodes = listeners.or_else(|| listen_inodes(root, port));
    let mut view = View {
        listening: inodes.as_ref().map(|i| !i.is_empty()),
        ..View::default()
    };
    for p in &procs {
        let Some(stat) = &p.stat else { continue };
        if let Some((port, model)) = runner_args(&p.comm, &p.argv) {
            view.runners.push(Runner {
                pid: p.pid,
                ppid: u32::try_from(stat.ppid).unwrap_or(0),
                state: stat.state,
                cpu_ticks: stat.cpu_ticks(),
                port,
                model,
            });
        }
    }
    let inodes = inodes.unwrap_or_default();
    if !inodes.is_empty() {
        view.server =
            find_owner(root, &procs, &view.runners, &inodes).and_then(|p| server(root, p));
    }
    let server_comm = view.server.as_ref().map(|s| s.comm.clone());
    let parent_is_a_server = |ppid: u32| {
        procs.iter().find(|p| p.pid == ppid).is_some_and(|parent| {
            ppid != 1
                && (parent.comm.starts_with("ollama")
                    || server_comm.as_deref() == Some(parent.comm.as_str()))
        })
    };
    view.orphans = view
        .runners
        .iter()
        .filter(|r| !parent_is_a_server(r.ppid))
        .cloned()
        .collect();
    view
}

/// The runners of the server on the port: its process's children. When
/// that process cannot be seen (another user's server: its `fd/` is not
/// readable), the runners only if they all share one parent (one Ollama on
/// the box), else none: another server's runner must never be blamed.
#[must_use]
pub fn server_runners(view: &View) -> Vec<&Runner> {
    if let Some(server) = &view.server {
        return view
            .runners
            .iter()
            .filter(|r| r.ppid == server.pid)
            .collect();
    }
    let first = view.runners.first().map(|r| r.ppid);
    if view.runners.iter().all(|r| Some(r.ppid) == first) {
        view.runners.iter().collect()
    } else {
        Vec::new()
    }
}

/// The owner as a server; `None` when it vanished before its `stat` was read.
fn server(root: &Path, p: &Proc) -> Option<Server> {
    let stat = match &p.stat {
        Some(stat) => stat.clone(),
        None => procstat::read(root, i32::try_from(p.pid).ok()?).ok()?,
    };
    let ticks = rustix::param::clock_ticks_per_second().max(1) as f64;
    let uptime = fs::read_to_string(root.join("uptime"))
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    let unit = fs::read_to_string(root.join(p.pid.to_string()).join("cgroup"))
        .ok()
        .and_then(|t| unit_from_cgroup(&t));
    Some(Server {
        pid: p.pid,
        comm: stat.comm.clone(),
        state: stat.state,
        cpu_ticks: stat.cpu_ticks(),
        age_secs: (uptime - stat.starttime as f64 / ticks).max(0.0),
        user_unit: unit.as_ref().is_some_and(|u| u.1),
        unit: unit.map(|u| u.0),
    })
}

fn processes(root: &Path) -> Vec<Proc> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let dir = root.join(pid.to_string());
            let comm = read_comm(&dir.join("comm"))?;
            if !named_like_ollama(&comm) {
                return Some(Proc {
                    pid,
                    comm,
                    stat: None,
                    argv: Vec::new(),
                });
            }
            let stat = procstat::parse(&fs::read_to_string(dir.join("stat")).ok()?).ok()?;
            let argv = fs::read(dir.join("cmdline"))
                .ok()?
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            Some(Proc {
                pid,
                comm,
                stat: Some(stat),
                argv,
            })
        })
        .collect()
}

/// `/proc/<pid>/comm` in one read: far cheaper for the kernel than `stat`.
fn read_comm(path: &Path) -> Option<String> {
    let mut buf = [0u8; 128];
    let n = fs::File::open(path).ok()?.read(&mut buf).ok()?;
    let text = buf.get(..n)?;
    let name = text.strip_suffix(b"\n").unwrap_or(text);
    Some(String::from_utf8_lossy(name).into_owned())
}

fn listen_inodes(root: &Path, port: u16) -> Option<Vec<u64>> {
    let tables: Vec<String> = ["net/tcp", "net/tcp6"]
        .iter()
        .filter_map(|t| fs::read_to_string(root.join(t)).ok())
        .collect();
    if tables.is_empty() {
        return None;
    }
    Some(
        tables
            .iter()
            .flat_map(|t| listening_inodes(t, port))
            .collect(),
    )
}

/// The process holding a listening socket: the runners' parents first,
/// then anything called ollama, then everyone.
fn find_owner<'a>(
    root: &Path,
    procs: &'a [Proc],
    runners: &[Runner],
    inodes: &[u64],
) -> Option<&'a Proc> {
    let parents: Vec<u32> = runners.iter().map(|r| r.ppid).collect();
    let likely = |p: &&Proc| parents.contains(&p.pid) || p.comm.starts_with("ollama");
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let holds = |p: &&Proc| holds_socket(&root.join(p.pid.to_string()).join("fd"), &wanted);
    procs
        .iter()
        .filter(likely)
        .find(holds)
        .or_else(|| procs.iter().filter(|p| !likely(p)).find(holds))
}

fn holds_socket(fd_dir: &PathBuf, wanted: &[String]) -> bool {
    let Ok(entries) = fs::read_dir(fd_dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        fs::read_link(e.path())
            .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
    })
}

#[cfg(test)]
#[path = "procs_tests.rs"]
mod tests;
