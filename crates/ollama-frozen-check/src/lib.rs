//! `ollama-frozen-check`: is the Ollama server serving generations, through
//! every hop? Frozen, down, busy, or fine? It probes in layers, cheapest
//! first, and never acts: `/proc` (the process listening on the port, its
//! `llama-server` / `ollama runner` children, their state and cgroup),
//! `GET /api/version`, `GET /api/ps`, each runner's `GET /health` and
//! `GET /slots`, and a one-token `POST /api/generate` (or `/api/embed`) on
//! models already loaded, sent with their remaining keep-alive so probing
//! never moves an expiry. Optional: the server's journal or log file, a
//! load probe, and NVML (through gpu-probe) for the VRAM each runner holds
//! and its GPU's utilisation. History (progress signals, the freeze clock) lives in the
//! state directory under `ollama-frozen-check/<name>.json`.

pub mod api;
pub mod check;
pub mod cli;
pub mod credentials;
pub mod evidence;
pub mod finding;
pub mod gpu;
pub mod history;
pub mod http;
pub mod judge;
pub mod judge_e2e;
pub mod judge_gpu;
pub mod logs;
pub mod probe;
pub mod probe_e2e;
pub mod procs;
pub mod render;
pub mod stop;
pub mod target;
pub mod verdict;

pub use cli::Cli;

use selfheal_core::{Outcome, Tool};

pub const TOOL: Tool = selfheal_core::tool!("OLLAMA");

#[must_use]
pub fn run(cli: &Cli) -> Outcome {
    let valid = cli
        .target()
        .and_then(|_| cli.hops())
        .and_then(|_| cli.check_nvml_lib());
    if let Err(why) = valid {
        return TOOL.usage_error(why);
    }
    stop::guarded(|| TOOL.run(&cli.output, || check::run(cli)))
}
