//! The probing itself, cheapest layer first, every request within what is
//! left of the run's `--timeout`. Layers 0-3 never touch the scheduler's
//! keep-alive; layer 4 only probes models `/api/ps` lists, asks for one
//! token, passes only `num_ctx` (as loaded) among runner options, and sends
//! the model's remaining keep-alive so its expiry does not move.

use crate::api::{self, Generation, Loaded};
use crate::evidence::{Answer, E2e, E2eEnd, Evidence, Hop, Light, Ps, RunnerCheck, Version};
use crate::http::{self, Failure, Timed};
use crate::procs;
use crate::target::Target;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Byte caps: light answers, `/api/ps`, a generate stream.
const LIGHT_LIMIT: u64 = 64 * 1024;
const PS_LIMIT: u64 = 4 << 20;
const STREAM_LIMIT: u64 = 1 << 20;

pub struct Settings {
    pub target: Target,
    pub hops: Vec<(String, Target)>,
    /// `/proc`, or a fixture tree; `None` when the server is not local.
    pub proc_root: Option<PathBuf>,
    pub deadline: Instant,
}

impl Settings {
    /// At most `cap`, never past the run's deadline (keeping `reserve`).
    fn slice(&self, cap: Duration, reserve: Duration) -> Duration {
        let left = self.deadline.saturating_duration_since(Instant::now());
        cap.min(left.saturating_sub(reserve))
            .max(Duration::from_millis(50))
    }

    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e6
}

/// Layers 0-3 and the hops.
#[must_use]
pub fn cheap_layers(s: &Settings) -> Evidence {
    let started = Instant::now();
    let processes = s.proc_root.as_ref().map(|root| {
        // The kernel's own filter when looking at the real /proc.
        let listeners = (root == std::path::Path::new("/proc"))
            .then(|| selfheal_core::sockdiag::listening_inodes(s.target.port).ok())
            .flatten();
        procs::look(root, s.target.port, listeners)
    });
    let mut durations = std::collections::BTreeMap::from([("l0", secs(started.elapsed()))]);
    let version = get_version(&s.target, s.slice(Duration::from_secs(5), Duration::ZERO));
    durations.insert("l1", version.light.seconds);
    let ps = (version.light.answer == Answer::Ok).then(|| {
        ps(
            &s.target,
            s.slice(Duration::from_secs(10), Duration::from_secs(1)),
        )
    });
    if let Some(ps) = &ps {
        durations.insert("l2", ps.light.seconds);
    }
    let l3 = Instant::now();
    let server = processes
        .as_ref()
        .and_then(|v| v.server.as_ref())
        .map(|p| p.pid);
    let runners = processes.as_ref().map_or_else(Vec::new, |v| {
        v.runners
            .iter()
            .filter(|r| server.is_none_or(|pid| r.ppid == pid))
            .map(|r| runner(s, r))
            .collect()
    });
    durations.insert("l3", secs(l3.elapsed()));
    let hop_started = Instant::now();
    let hops: Vec<Hop> = s
        .hops
        .iter()
        .map(|(name, target)| Hop {
            name: name.clone(),
            address: target.authority(),
            light: get_version(target, s.slice(Duration::from_secs(5), Duration::ZERO)).light,
        })
        .collect();
    if !hops.is_empty() {
        durations.insert("hops", secs(hop_started.elapsed()));
    }
    Evidence {
        url: s.target.base.clone(),
        processes,
        version,
        ps,
        ps_after: None,
        runners,
        e2e: Vec::new(),
        e2e_skipped: None,
        load_probe: None,
        hops,
        log_signs: Vec::new(),
        gpu: None,
        durations,
    }
}

fn light<T>(timed: &Timed<T>, answer: Answer) -> Light {
    Light {
        answer,
        seconds: secs(timed.elapsed),
        error: timed.failure_text(),
    }
}

fn failed(failure: &Failure) -> Answer {
    match failure {
        Failure::Refused => Answer::Refused,
        Failure::Timeout { bytes: 0 } => Answer::Silent,
        Failure::Timeout { .. } => Answer::Trickle,
        Failure::TooLarge { .. } => Answer::NotOllama,
        Failure::Broken(_) => Answer::Unreachable,
    }
}

/// A reply that is Ollama's JSON with status 200, or why not.
fn ollama_json(reply: &http::Reply) -> Result<Value, String> {
    let shown = api::clip(&String::from_utf8_lossy(&reply.body), 120);
    if reply.status != 200 {
        return Err(format!("HTTP {}: {shown}", reply.status));
    }
    if !reply.is_json() {
        return Err(format!(
            "answered {:?}, not JSON: {shown}",
            reply.content_type
        ));
    }
    serde_json::from_slice(&reply.body).map_err(|e| format!("invalid JSON ({e}): {shown}"))
}

fn get_version(target: &Target, deadline: Duration) -> Version {
    let timed = http::get(&target.endpoint("/api/version"), deadline, LIGHT_LIMIT);
    match &timed.result {
        Err(f) => Version {
            light: light(&timed, failed(f)),
            version: None,
        },
        Ok(reply) => match ollama_json(reply) {
            Ok(value) => Version {
                light: light(&timed, Answer::Ok),
                version: value["version"].as_str().map(str::to_owned),
            },
            Err(why) => Version {
                light: Light {
                    error: Some(why),
                    ..light(&timed, Answer::NotOllama)
                },
                version: None,
            },
        },
    }
}

/// `GET /api/ps`.
#[must_use]
pub fn ps(target: &Target, deadline: Duration) -> Ps {
    let timed = http::get(&target.endpoint("/api/ps"), deadline, PS_LIMIT);
    let parsed = match &timed.result {
        Err(f) => Err((failed(f), None)),
        Ok(reply) => ollama_json(reply)
            .and_then(|_| api::ps(&reply.body))
            .map_err(|why| (Answer::NotOllama, Some(why))),
    };
    match parsed {
        Ok(models) => Ps {
            light: light(&timed, Answer::Ok),
            models,
        },
        Err((answer, why)) => {
            let mut light = light(&timed, answer);
            if why.is_some() {
                light.error = why;
            }
            Ps {
                light,
                models: Vec::new(),
            }
        }
    }
}

fn runner(s: &Settings, r: &procs::Runner) -> RunnerCheck {
    let mut check = RunnerCheck {
        pid: r.pid,
        port: r.port,
        state: r.state,
        model_blob: r.model.clone(),
        health: None,
        health_error: None,
        slots: None,
        slots_after: None,
        slots_hung: false,
    };
    let Some(port) = r.port else {
        return check;
    };
    let base = format!("http://127.0.0.1:{port}");
    let timed = http::get(
        &format!("{base}/health"),
        s.slice(Duration::from_secs(3), Duration::ZERO),
        LIGHT_LIMIT,
    );
    match &timed.result {
        Ok(reply) => check.health = Some(api::health(reply.status, &reply.body)),
        Err(_) => check.health_error = timed.failure_text(),
    }
    if check.health == Some(api::Health::Ok) {
        read_slots(s, &mut check, false);
    }
    check
}

/// `/slots`; a runner without it (older runners answer 404) is left without.
pub fn read_slots(s: &Settings, check: &mut RunnerCheck, after: bool) {
    let Some(port) = check.port else { return };
    let url = format!("http://127.0.0.1:{port}/slots");
    let timed = http::get(
        &url,
        s.slice(Duration::from_secs(3), Duration::ZERO),
        PS_LIMIT,
    );
    let slots = match &timed.result {
        Ok(reply) if reply.status == 200 => api::slots(&reply.body).ok(),
        Err(Failure::Timeout { .. }) => {
            check.slots_hung = true;
            None
        }
        Ok(_) | Err(_) => None,
    };
    if after {
        check.slots_after = slots;
    } else {
        check.slots = slots;
    }
}

/// The request layer 4 sends for `model` at wall time `now`.
#[must_use]
pub fn e2e_request(model: &Loaded, now: f64, embedding: bool) -> Value {
    let mut options = json!({});
    if let Some(ctx) = model.context_length {
        options["num_ctx"] = json!(ctx);
    }
    let mut body = if embedding {
        json!({ "model": model.name, "input": "hi", "truncate": true })
    } else {
        options["num_predict"] = json!(1);
        json!({ "model": model.name, "prompt": "hi", "raw": true, "stream": true })
    };
    body["options"] = options;
    // The remaining keep-alive, so the probe does not move the expiry.
    // Pinned models and models whose expiry already passed (a request is
    // attached; its end re-arms the user's keep-alive) get none: never 0,
    // which would unload the model.
    if let Some(left) = model.remaining(now)
        && left > 0.0
        && !model.pinned(now)
    {
        body["keep_alive"] = json!((left.max(1.0) * 1000.0).round() / 1000.0);
    }
    body
}

/// Layer 4: sends `request` to `/api/generate` (or `/api/embed`).
#[must_use]
pub fn e2e(
    target: &Target,
    model: &str,
    request: Value,
    embedding: bool,
    deadline: Duration,
) -> E2e {
    let path = if embedding {
        "/api/embed"
    } else {
        "/api/generate"
    };
    let mut generation = Generation::default();
    let mut status = None;
    let timed = http::post_lines(
        &target.endpoint(path),
        &request.to_string(),
        deadline,
        STREAM_LIMIT,
        |code, line| {
            status = Some(code);
            generation.feed(line)
        },
    );
    let end = match (&timed.result, status) {
        (_, Some(503)) => E2eEnd::Busy503,
        (Ok(200), _) if generation.succeeded() => E2eEnd::Ok,
        (Err(Failure::Timeout { .. }), _) if generation.lines > 0 => E2eEnd::Streaming,
        (Err(Failure::Timeout { bytes: 0 }), None) => E2eEnd::Silent,
        (Err(Failure::Timeout { .. }), None) => E2eEnd::Streaming,
        (Err(Failure::Refused | Failure::Broken(_)), _) => E2eEnd::Unreachable,
        (Ok(_) | Err(_), _) => E2eEnd::Error,
    };
    let error = generation
        .error
        .clone()
        .or_else(|| timed.failure_text())
        .filter(|_| end != E2eEnd::Ok);
    E2e {
        model: model.to_owned(),
        end,
        seconds: secs(timed.elapsed),
        http_status: status.or(timed.result.as_ref().ok().copied()),
        error,
        request,
        generation,
    }
}

fn unsupported(probe: &E2e) -> bool {
    probe.http_status == Some(400)
        && probe
            .error
            .as_deref()
            .is_some_and(|e| e.contains("does not support generate"))
}

/// Layer 4 over every loaded model, sharing what is left of the run;
/// models found to only embed are added to `embedding`.
pub fn e2e_all(s: &Settings, ev: &mut Evidence, embedding: &mut Vec<String>) {
    let started = Instant::now();
    let models: Vec<Loaded> = ev.models().to_vec();
    for (i, model) in models.iter().enumerate() {
        let share =
            s.left().saturating_sub(Duration::from_millis(1500)) / (models.len() - i) as u32;
        let deadline = share.clamp(Duration::from_millis(200), Duration::from_secs(60));
        let embeds = embedding.contains(&model.name);
        // The remaining keep-alive as of sending, not of the run's start.
        let now = selfheal_core::clock::Stamp::now().unix;
        let request = e2e_request(model, now, embeds);
        let mut probe = e2e(&s.target, &model.name, request, embeds, deadline);
        if !embeds && unsupported(&probe) {
            embedding.push(model.name.clone());
            let request = e2e_request(model, now, true);
            probe = e2e(&s.target, &model.name, request, true, deadline);
        }
        ev.e2e.push(probe);
    }
    ev.durations.insert("l4", secs(started.elapsed()));
}

/// `--load-probe`: one token from a model that is not loaded. It costs a
/// load (and maybe an eviction); a 1 s keep-alive frees it soon after.
#[must_use]
pub fn load_probe(s: &Settings, model: &str) -> E2e {
    let request = json!({
        "model": model, "prompt": "hi", "raw": true, "stream": true,
        "options": { "num_predict": 1 }, "keep_alive": "1s",
    });
    let deadline = s.left().saturating_sub(Duration::from_millis(1500));
    e2e(
        &s.target,
        model,
        request,
        false,
        deadline.max(Duration::from_millis(200)),
    )
}

/// Reads `/api/ps` and `/slots` again, at least a second after the first
/// reads, so a single run can see counters move.
pub fn settle(s: &Settings, ev: &mut Evidence, first_read: Instant) {
    let wait = Duration::from_secs(1).saturating_sub(first_read.elapsed());
    if s.left() > wait + Duration::from_secs(2) {
        std::thread::sleep(wait);
    }
    ev.ps_after = Some(ps(
        &s.target,
        s.slice(Duration::from_secs(5), Duration::from_millis(500)),
    ));
    for check in &mut ev.runners {
        if check.slots.is_some() {
            read_slots(s, check, true);
        }
    }
}
