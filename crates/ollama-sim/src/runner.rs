//! The runner process: what the simulator becomes when executed as
//! `.../lib/ollama/llama-server --model BLOB --port N` (or, old style,
//! `ollama runner --model BLOB --port N`). It serves `/health` (from the
//! HTTP threads, so it stays fine when compute is wedged), `/slots` and
//! `/completion` (through the compute loop), `/embedding`, and a private
//! `/_sim/fault` the server uses to make it misbehave.

use crate::compute::{Completion, Compute, RunnerFaults, Task};
use crate::http::{self, Out, Request};
use serde_json::{Value, json};
use std::ffi::OsString;
use std::io::BufReader;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Environment the server passes to its runners (argv stays the real shape).
pub const ENV_PARENT: &str = "OLLAMA_SIM_PARENT";
pub const ENV_LOAD_MS: &str = "OLLAMA_SIM_LOAD_MS";
pub const ENV_CTX: &str = "OLLAMA_SIM_CTX";

struct Runner {
    started: Instant,
    load_time: Duration,
    old_style: bool,
    faults: Arc<Mutex<RunnerFaults>>,
    tasks: Sender<Task>,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn arg_after(args: &[OsString], flag: &str) -> Option<String> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).map(|v| v.to_string_lossy().into_owned())
}

/// Dies with the server: a parent-death signal, and a check that the parent
/// did not already die before it was set.
fn tie_to_parent() -> bool {
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let expected = env_u64(ENV_PARENT, 0);
    let parent = rustix::process::getppid()
        .map_or(0, |p| u64::from(p.as_raw_nonzero().get().unsigned_abs()));
    expected == 0 || parent == expected
}

/// Entry point of runner mode; `args` excludes argv[0].
#[must_use]
pub fn main(args: &[OsString], old_style: bool) -> ExitCode {
    if !tie_to_parent() {
        return ExitCode::from(1);
    }
    let Some(port) = arg_after(args, "--port").and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("runner: --port N is required");
        return ExitCode::from(1);
    };
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(l) => l,
        Err(err) => {
            eprintln!("runner: cannot listen on 127.0.0.1:{port}: {err}");
            return ExitCode::from(1);
        }
    };
    let (tx, rx) = mpsc::channel();
    let faults = Arc::new(Mutex::new(RunnerFaults::default()));
    let compute = Compute {
        faults: Arc::clone(&faults),
        n_ctx: env_u64(ENV_CTX, 4096) as u32,
    };
    std::thread::spawn(move || compute.run(&rx));
    let runner = Arc::new(Runner {
        started: Instant::now(),
        load_time: Duration::from_millis(env_u64(ENV_LOAD_MS, 200)),
        old_style,
        faults,
        tasks: tx,
    });
    for stream in listener.incoming().flatten() {
        let runner = Arc::clone(&runner);
        std::thread::spawn(move || runner.serve(stream));
    }
    ExitCode::SUCCESS
}

impl Runner {
    fn progress(&self) -> f64 {
        let total = self.load_time.as_secs_f64();
        if total == 0.0 {
            return 1.0;
        }
        (self.started.elapsed().as_secs_f64() / total).min(1.0)
    }

    fn serve(&self, stream: TcpStream) {
        let Ok(read_half) = stream.try_clone() else {
            return;
        };
        let mut out = Out::new(stream);
        let Ok(request) = http::read_request(&mut BufReader::new(read_half)) else {
            return;
        };
        let _ = self.route(&request, &mut out);
    }

    fn route(&self, request: &Request, out: &mut Out) -> std::io::Result<()> {
        let loading = self.progress() < 1.0;
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/health") => self.health(out),
            ("POST", "/_sim/fault") => {
                let faults: RunnerFaults = serde_json::from_slice(&request.body).unwrap_or_default();
                *self.faults.lock().expect("faults lock") = faults;
                out.json(200, &json!({ "status": "ok" }))
            }
            _ if loading => out.json(
                503,
                &json!({"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}),
            ),
            ("GET", "/slots") if !self.old_style => {
                let (reply, answer) = mpsc::channel();
                let _ = self.tasks.send(Task::Slots(reply));
                match answer.recv() {
                    Ok(body) => out.respond(200, http::JSON, body.as_bytes()),
                    Err(_) => out.error(500, "compute loop gone"),
                }
            }
            ("POST", "/completion") => self.completion(request, out),
            ("POST", "/embedding") => self.embedding(request, out),
            _ => out.respond(404, http::TEXT, b"404 page not found"),
        }
    }

    fn health(&self, out: &mut Out) -> std::io::Result<()> {
        let progress = self.progress();
        if self.old_style {
            // Older runners: 200 with a numeric status (0 ready, 2 loading) and progress.
            let status = if progress < 1.0 { 2 } else { 0 };
            return out.json(200, &json!({ "status": status, "progress": progress }));
        }
        if progress < 1.0 {
            out.json(503, &json!({ "status": "loading model" }))
        } else {
            out.json(200, &json!({ "status": "ok" }))
        }
    }

    fn completion(&self, request: &Request, out: &mut Out) -> std::io::Result<()> {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let (events, received) = mpsc::channel();
        let job = Completion {
            prompt_tokens: body["prompt_tokens"].as_u64().unwrap_or(10) as u32,
            n_predict: body["n_predict"].as_i64().unwrap_or(-1),
            token_time: Duration::from_millis(body["token_ms"].as_u64().unwrap_or(20)),
            events,
        };
        let _ = self.tasks.send(Task::Complete(job));
        let mut started = false;
        for event in received {
            if !started {
                out.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")?;
                started = true;
            }
            out.send(format!("data: {event}\n\n").as_bytes())?;
        }
        Ok(())
    }

    fn embedding(&self, request: &Request, out: &mut Out) -> std::io::Result<()> {
        while self.faults.lock().expect("faults lock").wedge {
            std::thread::sleep(Duration::from_millis(20));
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let inputs: Vec<&str> = body["content"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let vectors: Vec<Vec<f32>> = inputs.iter().map(|t| crate::compute::embed(t)).collect();
        out.json(200, &json!({ "embedding": vectors }))
    }
}
