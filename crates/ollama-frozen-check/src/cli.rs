//! Flags, each also settable from the environment (`Environment=` in a unit).

use crate::target::{self, Given, Target};
use clap::Parser;
use selfheal_core::cli::{OutputArgs, StateArgs};
use selfheal_core::duration;
use std::path::PathBuf;
use std::time::Duration;

const ABOUT: &str =
    "Is the Ollama server serving generations, through every hop? Frozen, down, busy, or fine?";

const LONG_ABOUT: &str = "\
Is the Ollama server serving generations, through every hop? Frozen, down,
busy, or fine? It probes in layers, cheapest first, and never acts:

  L0 processes and port (/proc): the server, its runner children, its unit
  L1 GET /api/version: does HTTP answer at all?
  L2 GET /api/ps: the scheduler's view (models, VRAM, expiry)
  L3 each runner's /health and /slots: is its compute loop turning?
  L4 a one-token generate on each loaded model (at most every --e2e-every,
     or when a cheaper layer looks wrong); never loads a model, never moves
     its expiry (sends the remaining keep-alive), passes only num_ctx
  GPU NVML, where the NVIDIA library loads: each runner's VRAM and its
     GPU's utilisation (a CPU fallback, an orphan, work a silent runner does)

It prints one verdict (ok, busy, loading, overloaded, cpu-fallback, slow,
down, model-wedged, loads-stuck, thrashing, frozen) with its evidence and
a suggested remedy (none, kill-runner PID, restart-server, reload-gpu-
driver-or-reboot, report-only). A freeze is only declared after every
progress signal stayed flat for --freeze-after across runs (kept in the
state directory); until then it is a WARNING.";

const AFTER_HELP: &str = "\
Exit codes:
  0  OK: ok, busy, loading
  1  WARNING: suspected (not yet flat for --freeze-after), overloaded, slow,
     thrashing, starting, or another report-only finding (except down)
  2  CRITICAL: frozen, down, model-wedged, loads-stuck, cpu-fallback
  3  UNKNOWN: bad arguments, state unusable, another check of this name running

The remedy is in --format json under details.remedy (kind, pid, unit,
command as argv). Act on the remedy, not on the exit code alone.

Examples:
  ollama-frozen-check
  ollama-frozen-check --url http://127.0.0.1:11434 --format json
  ollama-frozen-check --hop proxy=http://172.30.0.11:11434 \\
      --url http://192.168.50.94:11434
  ollama-frozen-check --journal-unit ollama --freeze-after 3m
  ollama-frozen-check --textfile /var/lib/prometheus/node-exporter/ollama.prom";

#[derive(Debug, Parser)]
#[command(
    name = "ollama-frozen-check",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP
)]
#[allow(clippy::struct_excessive_bools)]
pub struct Cli {
    /// The server, as http://HOST:PORT [default: from OLLAMA_HOST as Ollama
    /// reads it, else http://127.0.0.1:11434]
    #[arg(long, value_name = "URL", env = "OLLAMA_FROZEN_CHECK_URL", value_parser = target::given)]
    pub url: Option<Given<Target>>,

    /// Also check the server through this hop (a proxy), repeatable; the
    /// output says which hop fails
    #[arg(long, value_name = "NAME=URL", value_parser = target::given_hop)]
    pub hop: Vec<Given<(String, Target)>>,

    /// Name the history is kept under [default: HOST-PORT of the URL]
    #[arg(long, env = "OLLAMA_FROZEN_CHECK_NAME")]
    pub name: Option<String>,

    /// Declare frozen only after every progress signal stayed flat this long
    #[arg(long, default_value = "180s", value_parser = duration::parse, env = "OLLAMA_FROZEN_CHECK_FREEZE_AFTER")]
    pub freeze_after: Duration,

    /// Run the end-to-end generate at most this often (sooner when a cheaper
    /// layer looks wrong)
    #[arg(long, default_value = "5m", value_parser = duration::parse, env = "OLLAMA_FROZEN_CHECK_E2E_EVERY")]
    pub e2e_every: Duration,

    /// A server younger than this that accepts but does not answer is
    /// starting (GPU discovery runs before it serves), not frozen
    #[arg(long, default_value = "2m", value_parser = duration::parse)]
    pub startup_grace: Duration,

    /// A load is slow but fine until this long (the server's stall timer)
    #[arg(long, default_value = "5m", value_parser = parse_load_timeout, env = "OLLAMA_LOAD_TIMEOUT")]
    pub load_timeout: Duration,

    /// One token taking longer than this to compute is "slow"
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    pub slow_after: Duration,

    /// Treat a model on CPU (size_vram 0) as a lost GPU even before this
    /// check has seen the GPU in use
    #[arg(long)]
    pub expect_gpu: bool,

    /// Time limit for the whole run, every request included
    #[arg(long, default_value = "30s", value_parser = duration::parse, env = "OLLAMA_FROZEN_CHECK_TIMEOUT")]
    pub timeout: Duration,

    /// Read the server's recent journal for known failure signs
    #[arg(long, value_name = "UNIT", conflicts_with = "log_file")]
    pub journal_unit: Option<String>,

    /// Read the tail (256 KiB) of the server's log file for known failure signs
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    /// Generate one token from MODEL when it is not loaded, to catch loads
    /// that hang (S16). COSTS A LOAD (and maybe an eviction); at most every
    /// --e2e-every
    #[arg(long, value_name = "MODEL")]
    pub load_probe: Option<String>,

    /// The NVIDIA management library to read runner VRAM and GPU
    /// utilisation from; without it (no NVIDIA driver) the check goes on
    /// without GPU evidence
    #[arg(long, value_name = "PATH", default_value = gpu_probe::DEFAULT_NVML_LIB, env = "OLLAMA_FROZEN_CHECK_NVML_LIB")]
    pub nvml_lib: std::ffi::OsString,

    /// Do not read the GPUs at all
    #[arg(long, env = "OLLAMA_FROZEN_CHECK_NO_GPU")]
    pub no_gpu: bool,

    /// Where /proc is (for tests)
    #[arg(long, default_value = "/proc", value_name = "DIR", hide = true)]
    pub proc_root: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `OLLAMA_LOAD_TIMEOUT` as Ollama reads it: a Go duration or bare seconds;
/// zero or negative means no limit.
fn parse_load_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.starts_with('-') || text == "0" {
        return Ok(Duration::MAX);
    }
    match text.parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => duration::parse(text),
    }
}

impl Cli {
    /// `--url`, else `OLLAMA_HOST`.
    pub fn target(&self) -> Result<Target, String> {
        match &self.url {
            Some(Given(t)) => t.clone().map_err(|e| format!("--url: {e}")),
            None => target::from_ollama_host_os(std::env::var_os("OLLAMA_HOST").as_deref()),
        }
    }

    /// `--nvml-lib` names a library: a bare name the loader searches for,
    /// or a path that is not a FIFO, device or directory (opening a FIFO
    /// would block the run; a user's typo must not pass as "no GPU").
    pub fn check_nvml_lib(&self) -> Result<(), String> {
        let lib = std::path::Path::new(&self.nvml_lib);
        if self.nvml_lib.is_empty() {
            return Err("--nvml-lib is empty: give the NVML library's name or path \
                        (default libnvidia-ml.so.1), or pass --no-gpu"
                .to_owned());
        }
        if self.no_gpu || !self.nvml_lib.as_encoded_bytes().contains(&b'/') {
            return Ok(());
        }
        match std::fs::metadata(lib) {
            Ok(meta) if !meta.is_file() => Err(format!(
                "--nvml-lib {}: not a regular file; give the path of libnvidia-ml.so.1, \
                 or pass --no-gpu",
                lib.display()
            )),
            Ok(_) => Ok(()),
            Err(e) => Err(format!(
                "--nvml-lib {}: {e}; give the path of libnvidia-ml.so.1, or leave the \
                 flag out to use the driver's own (none: no GPU evidence)",
                lib.display()
            )),
        }
    }

    /// Every `--hop`, or the first that is wrong.
    pub fn hops(&self) -> Result<Vec<(String, Target)>, String> {
        self.hop.iter().map(|Given(h)| h.clone()).collect()
    }

    #[must_use]
    pub fn log_source(&self) -> Option<crate::logs::Source> {
        self.journal_unit
            .clone()
            .map(crate::logs::Source::Journal)
            .or_else(|| self.log_file.clone().map(crate::logs::Source::File))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn load_timeout_reads_like_ollama() {
        assert_eq!(parse_load_timeout("300"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_load_timeout("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_load_timeout("0"), Ok(Duration::MAX));
        assert_eq!(parse_load_timeout("-1"), Ok(Duration::MAX));
        assert!(parse_load_timeout("soon").is_err());
    }
}
