//! The probing itself, cheapest layer first, every request within what is
//! left of the run's `--timeout`. Layers 0-3 never touch the scheduler's
//! keep-alive; layer 4 is `probe_e2e`'s.

use crate::api;
use crate::evidence::{Answer, Evidence, Hop, Light, Ps, RunnerCheck, Version};
use crate::http::{self, Failure, Timed};
use crate::procs;
use crate::target::Target;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Byte caps: light answers, `/api/ps`.
const LIGHT_LIMIT: u64 = 64 * 1024;
const PS_LIMIT: u64 = 4 << 20;

pub struct Settings {
    pub target: Target,
    pub hops: Vec<(String, Target)>,
    /// `/proc`, or a fixture tree; `None` when the server is not local.
    pub proc_root: Option<PathBuf>,
    /// The NVML library; `None` with `--no-gpu`.
    pub nvml_lib: Option<std::ffi::OsString>,
    pub deadline: Instant,
}

impl Settings {
    /// At most `cap`, never past the run's deadline (keeping `reserve`).
    fn slice(&self, cap: Duration, reserve: Duration) -> Duration {
        let left = self.deadline.saturating_duration_since(Instant::now());
        cap.min(left.saturating_sub(reserve))
            .max(Duration::from_millis(50))
    }

    pub(crate) fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

pub(crate) fn secs(d: Duration) -> f64 {
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
    let runners = processes.as_ref().map_or_else(Vec::new, |v| {
        procs::server_runners(v)
            .into_iter()
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
        gpu_after: None,
        durations,
    }
}

/// NVML's view of the runners (layer 0's children and orphans), within
/// what is left of the run; `None` when GPUs are not read (`--no-gpu`, a
/// server on another host).
#[must_use]
pub fn gpu_read(s: &Settings, ev: &Evidence) -> Option<crate::gpu::GpuView> {
    let (lib, proc_root) = (s.nvml_lib.as_ref()?, s.proc_root.as_ref()?);
    let mut pids: Vec<u32> = ev.runners.iter().map(|r| r.pid).collect();
    if let Some(view) = &ev.processes {
        pids.extend(view.orphans.iter().map(|r| r.pid));
    }
    let limit = s
        .left()
        .saturating_sub(Duration::from_secs(2))
        .clamp(Duration::from_millis(200), Duration::from_secs(5));
    Some(crate::gpu::read(lib, proc_root, &pids, limit))
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
    let auth = target.auth.as_ref().map(crate::target::Credentials::header);
    let url = target.endpoint("/api/version");
    let timed = http::get_as(&url, auth.as_deref(), deadline, LIGHT_LIMIT);
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
    let auth = target.auth.as_ref().map(crate::target::Credentials::header);
    let timed = http::get_as(
        &target.endpoint("/api/ps"),
        auth.as_deref(),
        deadline,
        PS_LIMIT,
    );
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
    if ev.gpu.as_ref().is_some_and(crate::gpu::GpuView::available) {
        ev.gpu_after = gpu_read(s, ev);
    }
}
