//! Switching faults on and off (at start and through `/_sim/fault`), what
//! each does to the scheduler's state, and the `/_sim/state` view tests use
//! to find runner pids and ports.

use crate::faults::{self, Fault};
use crate::http::{Out, Request};
use crate::models::ModelSpec;
use crate::runners;
use crate::sched::{Sim, later};
use serde_json::{Value, json};
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// `/_sim/*` requests; never affected by faults.
pub fn handle(sim: &Arc<Sim>, request: &Request, out: &mut Out) -> io::Result<()> {
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/_sim/fault") => {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let Some(name) = body["fault"].as_str() else {
                return out.error(
                    400,
                    "body must be {\"fault\": NAME, \"model\": optional NAME}",
                );
            };
            let fault = match faults::parse(name) {
                Ok(f) => f,
                Err(msg) => return out.error(400, &msg),
            };
            let model = body["model"].as_str().map(crate::models::full_name);
            if let Some(m) = &model
                && sim.find(m).is_none()
            {
                return out.error(404, &format!("model '{m}' not found"));
            }
            set(sim, fault, model);
            out.json(200, &state(sim))
        }
        ("DELETE", "/_sim/fault") => {
            clear(sim);
            out.json(200, &state(sim))
        }
        ("GET", "/_sim/state") => out.json(200, &state(sim)),
        _ => out.error(
            404,
            "unknown control endpoint: use POST/DELETE /_sim/fault or GET /_sim/state",
        ),
    }
}

/// The simulator's own view: faults, runner processes, orphans.
#[must_use]
pub fn state(sim: &Sim) -> Value {
    let st = sim.lock();
    let faults: Vec<Value> = st
        .faults
        .list()
        .iter()
        .map(|(f, m)| json!({ "fault": f.name(), "model": m }))
        .collect();
    let mut runners: Vec<Value> = st
        .loaded
        .values()
        .map(|l| {
            json!({
                "model": l.spec.name, "pid": l.proc.pid, "port": l.proc.port,
                "ready": l.ready, "refs": l.refs, "orphan": false, "vram": l.spec.vram,
            })
        })
        .collect();
    runners.extend(st.orphans.iter().map(|(name, p)| {
        let vram = sim.find(name).map_or(0, |s| s.vram);
        json!({ "model": name, "pid": p.pid, "port": p.port, "ready": true, "refs": 0, "orphan": true, "vram": vram })
    }));
    json!({ "pid": std::process::id(), "faults": faults, "runners": runners })
}

fn first_completion_model(sim: &Sim) -> Option<ModelSpec> {
    sim.cfg.models.iter().find(|m| !m.embedding).cloned()
}

fn target(sim: &Sim, model: Option<&str>) -> Option<ModelSpec> {
    model
        .and_then(|m| sim.find(m).cloned())
        .or_else(|| first_completion_model(sim))
}

/// Turns a fault on and applies its effect on what is loaded now.
pub fn set(sim: &Arc<Sim>, fault: Fault, model: Option<String>) {
    let now = SystemTime::now();
    let mut st = sim.lock();
    st.faults.set(fault, model.clone());
    for l in st.loaded.values_mut() {
        let hit = model.as_deref().is_none_or(|m| m == l.spec.name);
        if (fault == Fault::StuckUnload && hit) || fault == Fault::SchedulerDeadlock {
            l.stuck = true;
            l.expires_at = Some(now);
        }
    }
    drop(st);
    sim.changed.notify_all();
    if matches!(fault, Fault::StuckUnload | Fault::LoadsHang) {
        // The scheduler waits for an unload that never completes.
        let runner = model.as_deref().unwrap_or("all");
        let msg = "waiting for pending requests to complete and unload to occur";
        sim.log
            .slog("DEBUG", "sched.go:350", msg, &[("runner", runner)]);
    }
    match fault {
        Fault::OrphanRunner => orphan(sim, model.as_deref()),
        Fault::Thrash => {
            let sim = Arc::clone(sim);
            std::thread::spawn(move || thrash(&sim, model.as_deref()));
        }
        Fault::Refuse => {
            // Wake the accept loop so it sees the fault and closes the listener.
            let port = sim.lock().port;
            let _ = std::net::TcpStream::connect((std::net::Ipv4Addr::LOCALHOST, port));
        }
        Fault::Overload => {
            let sim = Arc::clone(sim);
            std::thread::spawn(move || overload(&sim, model.as_deref()));
        }
        _ => {}
    }
    push_runner_faults(sim);
}

/// Turns every fault off (a closed listener stays closed).
pub fn clear(sim: &Arc<Sim>) {
    let now = SystemTime::now();
    let mut st = sim.lock();
    let had_refuse = st.faults.any(Fault::Refuse);
    st.faults.clear();
    if had_refuse {
        st.faults.set(Fault::Refuse, None);
    }
    for l in st.loaded.values_mut() {
        if l.stuck {
            l.stuck = false;
            if l.refs == 0 {
                l.expires_at = Some(later(now, l.session.duration()));
            }
        }
    }
    for (_, p) in &mut st.orphans {
        p.kill();
    }
    st.orphans.clear();
    drop(st);
    sim.changed.notify_all();
    push_runner_faults(sim);
}

fn push_runner_faults(sim: &Sim) {
    let st = sim.lock();
    let orders: Vec<_> = st
        .loaded
        .values()
        .filter(|l| l.ready)
        .map(|l| (l.proc.port, st.faults.for_runner(&l.spec.name)))
        .collect();
    drop(st);
    for (port, faults) in orders {
        runners::push_faults(port, faults);
    }
}

/// S10: the model's runner leaves `/api/ps` but keeps running; with nothing
/// loaded, a runner is started only to be orphaned.
fn orphan(sim: &Sim, model: Option<&str>) {
    let mut st = sim.lock();
    let name = model
        .map(str::to_string)
        .or_else(|| st.loaded.keys().next().cloned());
    if let Some(l) = name.as_deref().and_then(|n| st.loaded.remove(n)) {
        st.orphans.push((l.spec.name.clone(), l.proc));
        return;
    }
    drop(st);
    let Some(spec) = target(sim, model) else {
        return;
    };
    if let Ok(proc) = sim.spawner.spawn(&spec, sim.cfg.load_time, sim.cfg.num_ctx) {
        sim.lock().orphans.push((spec.name, proc));
    }
}

/// S17: evict and reload the model in a loop while the fault is on.
fn thrash(sim: &Sim, model: Option<&str>) {
    let Some(spec) = target(sim, model) else {
        return;
    };
    let hold = sim.cfg.load_time.max(Duration::from_millis(100));
    while sim.lock().faults.on(Fault::Thrash, &spec.name) {
        let evicted = sim.lock().loaded.remove(&spec.name);
        if let Some(mut l) = evicted {
            sim.log.info(
                "sched.go:551",
                "llama-server model predicted to exceed available memory, evicting",
                &[("model", &l.spec.name)],
            );
            l.proc.kill();
            sim.changed.notify_all();
        }
        match sim.load(&spec, None, sim.cfg.num_ctx, sim.cfg.load_time) {
            Ok(attached) => {
                std::thread::sleep(hold);
                sim.release(&attached);
            }
            Err(_) => std::thread::sleep(hold),
        }
    }
}

/// S15: other clients' short completions keep running while the fault is on.
fn overload(sim: &Sim, model: Option<&str>) {
    let Some(spec) = target(sim, model) else {
        return;
    };
    let token_ms = sim.cfg.token_time.as_millis() as u64;
    while sim.lock().faults.any(Fault::Overload) {
        let Ok(attached) = sim.acquire(&spec, None, None, false) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        if let Ok(mut stream) = runners::complete(attached.port, 12, 4, token_ms) {
            while let Ok(runners::Event::Token(_)) = stream.next_event() {}
        }
        sim.release(&attached);
        std::thread::sleep(Duration::from_millis(20));
    }
}
