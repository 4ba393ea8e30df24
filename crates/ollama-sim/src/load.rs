//! Loading a model, as Ollama's scheduler does it: start a runner child,
//! show it in `/api/ps` while it loads, wait until its `/health` says
//! ready (or it dies), log what `ollama serve` logs, and attach.

use crate::keepalive::KeepAlive;
use crate::models::ModelSpec;
use crate::sched::{Attached, Loaded, Refusal, Sim};
use std::time::Duration;

impl Sim {
    /// Starts a runner, shows it in `/api/ps` as loading, waits until its
    /// `/health` says ready, and attaches to it.
    pub fn load(
        &self,
        spec: &ModelSpec,
        keep_alive: Option<KeepAlive>,
        num_ctx: u32,
        load_time: Duration,
    ) -> Result<Attached, Refusal> {
        let started = std::time::Instant::now();
        let attached = self.start_runner(spec, keep_alive, num_ctx, load_time)?;
        if let Err(err) = self.wait_ready(&attached) {
            self.log.slog(
                "ERROR",
                "sched.go:734",
                "error loading llama server",
                &[("error", &err)],
            );
            return Err((500, err));
        }
        let faults = self.lock().faults.for_runner(&spec.name);
        crate::runners::push_faults(attached.port, faults);
        let mut st = self.lock();
        let l = st
            .loaded
            .get_mut(&spec.name)
            .filter(|l| l.proc.pid == attached.pid);
        let Some(l) = l else {
            return Err((
                500,
                format!(
                    "{} process has terminated: signal: killed",
                    self.runner_name()
                ),
            ));
        };
        l.ready = true;
        l.refs += 1;
        drop(st);
        self.changed.notify_all();
        let (source, what) = if self.cfg.old_style {
            ("server.go:594", "llama runner")
        } else {
            ("llama_server.go:1362", "llama-server")
        };
        let secs = started.elapsed().as_secs_f64();
        self.log
            .info(source, &format!("{what} started in {secs:.2} seconds"), &[]);
        Ok(attached)
    }

    fn start_runner(
        &self,
        spec: &ModelSpec,
        keep_alive: Option<KeepAlive>,
        num_ctx: u32,
        load_time: Duration,
    ) -> Result<Attached, Refusal> {
        let proc = self
            .spawner
            .spawn(spec, load_time, num_ctx)
            .map_err(|e| (500, format!("error starting {}: {e}", self.runner_name())))?;
        let attached = Attached {
            name: spec.name.clone(),
            pid: proc.pid,
            port: proc.port,
        };
        if self.cfg.old_style {
            self.log.info(
                "server.go:376",
                "starting llama server",
                &[("cmd", &proc.cmd)],
            );
            self.log.info(
                "server.go:555",
                "waiting for llama runner to start responding",
                &[],
            );
        } else {
            self.log.info(
                "llama_server.go:433",
                "starting llama-server",
                &[("cmd", &proc.cmd)],
            );
            self.log.info(
                "llama_server.go:1295",
                "waiting for llama-server to start responding",
                &[],
            );
        }
        let loaded = Loaded {
            spec: spec.clone(),
            proc,
            refs: 0,
            session: keep_alive.unwrap_or(self.cfg.keep_alive),
            expires_at: None,
            ready: false,
            num_ctx,
            stuck: false,
        };
        self.lock().loaded.insert(spec.name.clone(), loaded);
        self.changed.notify_all();
        Ok(attached)
    }

    /// Polls the runner's `/health` until it is loaded, or it dies.
    fn wait_ready(&self, attached: &Attached) -> Result<(), String> {
        loop {
            if let Some(status) = self.runner_exited(attached) {
                return Err(format!(
                    "{} process has terminated: {status}",
                    self.runner_name()
                ));
            }
            if crate::runners::ready(attached.port, self.cfg.old_style) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
