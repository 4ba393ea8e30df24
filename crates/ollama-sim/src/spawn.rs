//! Starting runner processes with the real runner's name and argv: the
//! simulator executes itself through a symlink `.../lib/ollama/llama-server`
//! (or `.../bin/ollama runner` for old servers), so `/proc/PID/comm` is
//! `llama-server`. The link lives in a fresh directory removed right after
//! the exec, so nothing is left on disk whatever happens to the simulator.
//!
//! All runners are started from one long-lived thread: a parent-death
//! signal fires when the *thread* that forked the child exits.

use crate::models::ModelSpec;
use crate::runner::{ENV_CTX, ENV_LOAD_MS, ENV_PARENT};
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunnerStyle {
    /// v0.30+: `.../lib/ollama/llama-server --model BLOB --port N`
    New,
    /// v0.5.2 to v0.29: `ollama runner --model BLOB --port N`
    Old,
}

/// A running runner process.
pub struct RunnerProc {
    /// The command line, as the server logs it.
    pub cmd: String,
    pub child: Child,
    pub pid: u32,
    pub port: u16,
}

impl RunnerProc {
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Its exit status once it has exited, as Go prints it (`exit status 2`).
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(go_exit_text(status)),
            Ok(None) => None,
            Err(err) => Some(err.to_string()),
        }
    }
}

/// How Go's `exec.ExitError` reads: `exit status 2`, `signal: killed`.
fn go_exit_text(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(9)) => "signal: killed".into(),
        (None, Some(15)) => "signal: terminated".into(),
        (None, Some(6)) => "signal: aborted".into(),
        (None, Some(11)) => "signal: segmentation fault".into(),
        (None, Some(n)) => format!("signal: signal {n}"),
        (None, None) => "exit status unknown".into(),
    }
}

struct Order {
    model: ModelSpec,
    load_time: Duration,
    n_ctx: u32,
    reply: Sender<io::Result<RunnerProc>>,
}

pub struct Spawner {
    orders: Mutex<Sender<Order>>,
}

impl Spawner {
    /// Starts the spawning thread; `exe` is the simulator's own executable.
    #[must_use]
    pub fn start(exe: PathBuf, style: RunnerStyle) -> Spawner {
        let (tx, rx) = mpsc::channel::<Order>();
        std::thread::Builder::new()
            .name("runner-spawner".into())
            .spawn(move || {
                for order in rx {
                    let result = spawn_one(&exe, style, &order);
                    let _ = order.reply.send(result);
                }
            })
            .expect("spawn the runner-spawner thread");
        Spawner {
            orders: Mutex::new(tx),
        }
    }

    pub fn spawn(
        &self,
        model: &ModelSpec,
        load_time: Duration,
        n_ctx: u32,
    ) -> io::Result<RunnerProc> {
        let (reply, answer) = mpsc::channel();
        let order = Order {
            model: model.clone(),
            load_time,
            n_ctx,
            reply,
        };
        self.orders
            .lock()
            .expect("spawner lock")
            .send(order)
            .map_err(|_| io::Error::other("runner spawner thread is gone"))?;
        answer
            .recv()
            .map_err(|_| io::Error::other("runner spawner thread is gone"))?
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn link_to(exe: &Path, link: &Path) -> io::Result<()> {
    std::fs::create_dir_all(link.parent().expect("link has a parent"))?;
    std::os::unix::fs::symlink(exe, link)
}

fn spawn_one(exe: &Path, style: RunnerStyle, order: &Order) -> io::Result<RunnerProc> {
    let dir = tempfile::Builder::new().prefix("ollama-sim-").tempdir()?;
    let blob = dir
        .path()
        .join("models/blobs")
        .join(order.model.blob_name());
    std::fs::create_dir_all(blob.parent().expect("blob has a parent"))?;
    std::fs::File::create(&blob)?;
    let port = free_port()?.to_string();
    let blob = blob.as_os_str();
    let mut command = match style {
        RunnerStyle::New => {
            let link = dir.path().join("lib/ollama/llama-server");
            link_to(exe, &link)?;
            let mut c = Command::new(link);
            c.arg("--model").arg(blob).args(["--port", &port]);
            c.args(["--host", "127.0.0.1", "--no-webui", "--offline"]);
            c
        }
        RunnerStyle::Old => {
            let link = dir.path().join("bin/ollama");
            link_to(exe, &link)?;
            let mut c = Command::new(link);
            c.args(["runner", "--model"])
                .arg(blob)
                .args(["--port", &port]);
            c
        }
    };
    let cmd = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let child = command
        .env(ENV_PARENT, std::process::id().to_string())
        .env(ENV_LOAD_MS, order.load_time.as_millis().to_string())
        .env(ENV_CTX, order.n_ctx.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()?;
    // `spawn` returns after the exec succeeded: the link is no longer needed.
    drop(dir);
    Ok(RunnerProc {
        cmd,
        pid: child.id(),
        port: port.parse().expect("port we formatted"),
        child,
    })
}
