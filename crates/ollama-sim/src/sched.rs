//! The scheduler, shaped like Ollama's: a request for a loaded model
//! attaches to its runner (refcount up); anything else waits for the single
//! loader; `expires_at` is set only when the last request ends; a
//! housekeeping thread unloads expired models and notices dead runners.

use crate::faults::{Active, Fault};
use crate::keepalive::KeepAlive;
use crate::models::ModelSpec;
use crate::spawn::{RunnerProc, Spawner};
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// The exact text Ollama sends with its 503 (two spaces, `sched.go:88`).
pub const BUSY: &str = "server busy, please try again.  maximum pending requests exceeded";

/// How the simulator was started.
#[derive(Debug, Clone)]
pub struct Config {
    pub models: Vec<ModelSpec>,
    pub load_time: Duration,
    pub slow_load_time: Duration,
    pub token_time: Duration,
    pub keep_alive: KeepAlive,
    pub version: String,
    pub old_style: bool,
    pub utc_offset: i32,
    pub num_ctx: u32,
    /// `/api/ps` waits for loads to finish (v0.32.10+, read from the code).
    pub ps_blocks_during_load: bool,
}

/// A model with a runner process, loading or ready.
pub struct Loaded {
    pub spec: ModelSpec,
    pub proc: RunnerProc,
    pub refs: u32,
    pub session: KeepAlive,
    /// `None` until the first request ends (Ollama's zero `expiresAt`).
    pub expires_at: Option<SystemTime>,
    pub ready: bool,
    pub num_ctx: u32,
    /// Stuck unload or deadlock: never unloads, requests do not attach.
    pub stuck: bool,
}

#[derive(Default)]
pub struct State {
    pub loaded: BTreeMap<String, Loaded>,
    /// Runner processes no model owns any more (S10).
    pub orphans: Vec<(String, RunnerProc)>,
    pub faults: Active,
    pub loading: bool,
    /// The Ollama-facing port, so `refuse` can wake the accept loop.
    pub port: u16,
}

pub struct Sim {
    pub cfg: Config,
    pub state: Mutex<State>,
    pub changed: Condvar,
    pub spawner: Spawner,
    pub log: crate::log::Log,
}

/// A request attached to a ready runner; give it back with [`Sim::release`].
#[derive(Debug, Clone)]
pub struct Attached {
    pub name: String,
    pub pid: u32,
    pub port: u16,
}

/// An HTTP status and the `error` text to send.
pub type Refusal = (u16, String);

#[must_use]
pub fn later(now: SystemTime, by: Duration) -> SystemTime {
    now.checked_add(by).unwrap_or(now)
}

/// What a request asks of the scheduler.
struct Want<'a> {
    name: &'a str,
    keep_alive: Option<KeepAlive>,
    num_ctx: u32,
    external: bool,
}

enum Step {
    Done(Result<Attached, Refusal>),
    Wait,
    Load { slow: bool },
}

impl Want<'_> {
    /// One look at the state: attach, refuse, wait, or load (the caller loads).
    fn next_step(&self, st: &mut State) -> Step {
        let name = self.name;
        if self.external
            && (st.faults.any(Fault::SchedulerDeadlock) || st.faults.on(Fault::Overload, name))
        {
            return Step::Done(Err((503, BUSY.into())));
        }
        let stuck = st.loaded.get(name).is_some_and(|l| l.stuck);
        if stuck || (self.external && st.faults.on(Fault::Thrash, name)) {
            return Step::Wait;
        }
        if let Some(l) = st.loaded.get_mut(name) {
            if !l.ready {
                return Step::Wait;
            }
            // needsReload: an omitted num_ctx means the default, so a model
            // loaded with an explicit one is reloaded (the probe's trap).
            if self.num_ctx == l.num_ctx {
                l.refs += 1;
                if let Some(k) = self.keep_alive {
                    l.session = k;
                }
                let attached = Attached {
                    name: name.into(),
                    pid: l.proc.pid,
                    port: l.proc.port,
                };
                return Step::Done(Ok(attached));
            }
            if l.refs > 0 {
                return Step::Wait;
            }
            let mut old = st.loaded.remove(name).expect("present");
            old.proc.kill();
        }
        if st.loading || st.faults.on(Fault::LoadsHang, name) {
            return Step::Wait;
        }
        Step::Load {
            slow: st.faults.on(Fault::SlowLoad, name),
        }
    }
}

impl Sim {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed
            .wait_timeout(guard, Duration::from_millis(100))
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
    }

    /// How error texts name the runner: HEAD says llama-server, older servers llama runner.
    pub(crate) fn runner_name(&self) -> &'static str {
        if self.cfg.old_style {
            "llama runner"
        } else {
            "llama-server"
        }
    }

    #[must_use]
    pub fn find(&self, name: &str) -> Option<&ModelSpec> {
        let full = crate::models::full_name(name);
        self.cfg.models.iter().find(|m| m.name == full)
    }

    /// Attaches to `spec`'s runner, loading it first if needed. `external`
    /// requests are the ones overload and deadlock faults refuse.
    pub fn acquire(
        &self,
        spec: &ModelSpec,
        keep_alive: Option<KeepAlive>,
        num_ctx: Option<u32>,
        external: bool,
    ) -> Result<Attached, Refusal> {
        let want = Want {
            name: &spec.name,
            keep_alive,
            num_ctx: num_ctx.unwrap_or(self.cfg.num_ctx),
            external,
        };
        let mut st = self.lock();
        loop {
            match want.next_step(&mut st) {
                Step::Done(result) => return result,
                Step::Wait => st = self.wait(st),
                Step::Load { slow } => {
                    st.loading = true;
                    drop(st);
                    let load_time = if slow {
                        self.cfg.slow_load_time
                    } else {
                        self.cfg.load_time
                    };
                    let result = self.load(spec, keep_alive, want.num_ctx, load_time);
                    self.lock().loading = false;
                    self.changed.notify_all();
                    return result;
                }
            }
        }
    }

    /// `Some(status)` once the attached runner's process is gone (and forgets it).
    pub fn runner_exited(&self, attached: &Attached) -> Option<String> {
        let mut st = self.lock();
        let l = st
            .loaded
            .get_mut(&attached.name)
            .filter(|l| l.proc.pid == attached.pid);
        let Some(l) = l else {
            return Some("signal: killed".into());
        };
        let status = l.proc.exited()?;
        st.loaded.remove(&attached.name);
        drop(st);
        self.changed.notify_all();
        Some(status)
    }

    /// The request ended: when it was the last one, the keep-alive starts.
    pub fn release(&self, attached: &Attached) {
        let mut st = self.lock();
        if let Some(l) = st
            .loaded
            .get_mut(&attached.name)
            .filter(|l| l.proc.pid == attached.pid)
        {
            l.refs = l.refs.saturating_sub(1);
            if l.refs == 0 && !l.stuck {
                l.expires_at = Some(later(SystemTime::now(), l.session.duration()));
            }
        }
        drop(st);
        self.changed.notify_all();
    }

    /// `keep_alive: 0` with an empty prompt: unload now, or when idle.
    pub fn expire(&self, name: &str) {
        let mut st = self.lock();
        if let Some(l) = st.loaded.get_mut(name) {
            // Like expireRunner: expiry now even while requests are attached.
            l.session = KeepAlive::For(Duration::ZERO);
            l.expires_at = Some(SystemTime::now());
        }
        drop(st);
        self.unload_expired();
    }

    /// Unloads idle expired models and forgets runners that exited.
    pub fn unload_expired(&self) {
        let now = SystemTime::now();
        let mut st = self.lock();
        let before = st.loaded.len() + st.orphans.len();
        st.loaded.retain(|_, l| {
            let expired =
                l.ready && l.refs == 0 && !l.stuck && l.expires_at.is_some_and(|t| t <= now);
            if expired {
                l.proc.kill();
            }
            !expired && l.proc.exited().is_none()
        });
        st.orphans.retain_mut(|(_, p)| p.exited().is_none());
        let changed = before != st.loaded.len() + st.orphans.len();
        drop(st);
        if changed {
            self.changed.notify_all();
        }
    }

    /// Kills every runner (shutdown).
    pub fn kill_all(&self) {
        let mut st = self.lock();
        for l in st.loaded.values_mut() {
            l.proc.kill();
        }
        for (_, p) in &mut st.orphans {
            p.kill();
        }
        st.loaded.clear();
        st.orphans.clear();
    }
}
