//! `ollama-sim`: a faithful Ollama server simulator with fault injection, for
//! testing probes, demos and alerting without a GPU. It serves Ollama's API
//! on 127.0.0.1 (`/`, `/api/version`, `/api/tags`, `/api/ps`,
//! `/api/generate`, `/api/embed`) with the real JSON shapes, status codes and
//! `expires_at` rules, and runs one runner child per loaded model named like
//! the real one (`.../lib/ollama/llama-server`, or `ollama runner`), which the
//! server reaches over loopback HTTP (`/health`, `/slots`, `/completion`).
//! Faults reproducing reported failures are switched at start (`--fault`)
//! or at run time (`POST /_sim/fault`). It reads no system files.

pub mod api;
pub mod chunks;
pub mod client;
pub mod compute;
pub mod control;
pub mod faults;
pub mod generate;
pub mod http;
pub mod keepalive;
pub mod load;
pub mod log;
pub mod models;
pub mod runner;
pub mod runners;
pub mod sched;
pub mod server;
pub mod spawn;
pub mod timefmt;

use clap::Parser;
use faults::Fault;
use keepalive::KeepAlive;
use models::ModelSpec;
use selfheal_core::Outcome;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub const TOOL: &str = "ollama-sim";

const AFTER_HELP: &str = "\
The first line on stdout is `listening on 127.0.0.1:PORT`, printed once the
server accepts requests (after --preload models are loaded). Runners die
with the simulator. Faults (see the README for what each reproduces):
  wedged-runner stuck-unload runaway runner-dies mid-stream-error slow-load
  scheduler-deadlock accept-no-answer cpu-fallback slow orphan-runner overload
  loads-hang thrash trickle huge-body invalid-json wrong-content-type
  http-500 refuse
Switch them at run time:
  curl -d '{\"fault\":\"wedged-runner\"}' http://127.0.0.1:PORT/_sim/fault
  curl -X DELETE http://127.0.0.1:PORT/_sim/fault
  curl http://127.0.0.1:PORT/_sim/state

Exit codes: runs until killed; 1 if it cannot listen; 3 on bad arguments.

Examples:
  ollama-sim --preload llama3.2:1b
  ollama-sim --port 11434 --fault wedged-runner --preload llama3.2:1b
  ollama-sim --model qwen2.5:7b:4700000000 --model bge-m3:embedding
  ollama-sim --runner-style old --server-version 0.5.4";

fn parse_keep_alive(text: &str) -> Result<KeepAlive, String> {
    // OLLAMA_KEEP_ALIVE: a bare integer is seconds, else a Go duration.
    let secs = match text.parse::<f64>() {
        Ok(secs) => secs,
        Err(_) => keepalive::go_duration_secs(text)?,
    };
    Ok(keepalive::parse(Some(&serde_json::json!(secs)))?.unwrap_or(KeepAlive::Forever))
}

#[derive(Debug, Parser)]
#[command(
    name = TOOL,
    version,
    about = "A faithful Ollama simulator with fault injection, for testing probes.",
    after_help = AFTER_HELP,
    term_width = 80
)]
pub struct Cli {
    /// Port on 127.0.0.1 (0 picks a free one; read it from the first line)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// A model to offer: NAME[:SIZE_VRAM_BYTES][:embedding], repeatable
    /// [default: llama3.2:1b and nomic-embed-text:latest]
    #[arg(long = "model", value_name = "SPEC", value_parser = models::parse_spec)]
    pub models: Vec<ModelSpec>,
    /// Load this model before listening, repeatable
    #[arg(long, value_name = "NAME")]
    pub preload: Vec<String>,
    /// How long a runner takes to load its model
    #[arg(long, default_value = "200ms", value_parser = selfheal_core::duration::parse)]
    pub load_time: Duration,
    /// How long a load takes under the slow-load fault
    #[arg(long, default_value = "30s", value_parser = selfheal_core::duration::parse)]
    pub slow_load_time: Duration,
    /// Time per generated token (10x under cpu-fallback, 50x under slow)
    #[arg(long, default_value = "20ms", value_parser = selfheal_core::duration::parse)]
    pub token_time: Duration,
    /// Default keep-alive, as OLLAMA_KEEP_ALIVE (5m, 300 = seconds, -1 = forever)
    #[arg(long, default_value = "5m", value_parser = parse_keep_alive, allow_hyphen_values = true)]
    pub keep_alive: KeepAlive,
    /// A fault active from the start: NAME or NAME=MODEL, repeatable
    #[arg(long, value_name = "NAME[=MODEL]", value_parser = faults::parse_arg)]
    pub fault: Vec<(Fault, Option<String>)>,
    /// Runner process shape: new (v0.30+ llama-server) or old (`ollama runner`,
    /// numeric /health, no /slots, no context_length or capabilities)
    #[arg(long, value_enum, default_value = "new")]
    pub runner_style: spawn::RunnerStyle,
    /// What /api/version reports [default: 0.33.0, or 0.5.4 with --runner-style old]
    #[arg(long, value_name = "VERSION")]
    pub server_version: Option<String>,
    /// Zone of expires_at and modified_at, as Ollama uses local time: Z, +02:00, -07:00
    #[arg(long, default_value = "Z", value_parser = timefmt::parse_offset, allow_hyphen_values = true)]
    pub utc_offset: i32,
    /// Context length of loads that do not ask for num_ctx
    #[arg(long, default_value_t = 4096)]
    pub num_ctx: u32,
    /// Make /api/ps wait until loads finish, as v0.32.10+ does by its code
    /// (it takes each runner's lock); default: answer at once, showing them
    #[arg(long)]
    pub ps_blocks_during_load: bool,
    /// Append the server log (slog and Gin lines, as `ollama serve` writes
    /// them) to PATH instead of stderr
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<std::path::PathBuf>,
}

/// The process entry: runner mode when executed as `llama-server` or
/// `ollama runner`, the simulator otherwise.
#[must_use]
pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let argv0 = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    match argv0 {
        "llama-server" => runner::main(&args[1..], false),
        "ollama" if args.get(1).is_some_and(|a| a == "runner") => runner::main(&args[2..], true),
        _ => selfheal_core::cli::main(|cli: Cli| run(&cli)),
    }
}

fn config(cli: &Cli) -> sched::Config {
    let old_style = cli.runner_style == spawn::RunnerStyle::Old;
    let default_version = if old_style { "0.5.4" } else { "0.33.0" };
    sched::Config {
        models: if cli.models.is_empty() {
            models::defaults()
        } else {
            cli.models.clone()
        },
        load_time: cli.load_time,
        slow_load_time: cli.slow_load_time,
        token_time: cli.token_time,
        keep_alive: cli.keep_alive,
        version: cli
            .server_version
            .clone()
            .unwrap_or_else(|| default_version.into()),
        old_style,
        utc_offset: cli.utc_offset,
        num_ctx: cli.num_ctx,
        ps_blocks_during_load: cli.ps_blocks_during_load,
    }
}

fn failure(code: u8, message: String) -> Outcome {
    Outcome {
        code,
        stdout: String::new(),
        stderr: message + "\n",
    }
}

/// Every `--preload` names a model the simulator has.
fn check_preloads(cfg: &sched::Config, preload: &[String]) -> Result<(), String> {
    for name in preload {
        if !cfg.models.iter().any(|m| m.name == models::full_name(name)) {
            let known: Vec<&str> = cfg.models.iter().map(|m| m.name.as_str()).collect();
            return Err(format!(
                "--preload {name}: no such model; the simulator has {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

fn open_log(cli: &Cli) -> Result<log::Log, String> {
    let sink: Box<dyn Write + Send> = match &cli.log_file {
        None => Box::new(std::io::stderr()),
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("--log-file {}: {e}", path.display()))?,
        ),
    };
    Ok(log::Log::new(sink, cli.utc_offset))
}

/// The shared state, the runner spawner and the housekeeping thread.
fn start(cfg: sched::Config, style: spawn::RunnerStyle, log: log::Log) -> Arc<sched::Sim> {
    let exe = std::env::current_exe().unwrap_or_else(|_| TOOL.into());
    let sim = Arc::new(sched::Sim {
        log,
        spawner: spawn::Spawner::start(exe, style),
        cfg,
        state: Mutex::new(sched::State::default()),
        changed: Condvar::new(),
    });
    let housekeeper = Arc::clone(&sim);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(50));
            housekeeper.unload_expired();
        }
    });
    sim
}

fn preload(sim: &sched::Sim, names: &[String]) -> Result<(), String> {
    for name in names {
        let spec = sim.find(name).cloned().expect("checked before");
        let attached = sim
            .acquire(&spec, None, None, false)
            .map_err(|(_, msg)| format!("--preload {name}: {msg}"))?;
        sim.release(&attached);
    }
    Ok(())
}

/// Runs the simulator until it is killed.
#[must_use]
pub fn run(cli: &Cli) -> Outcome {
    let cfg = config(cli);
    if let Err(msg) = check_preloads(&cfg, &cli.preload) {
        return failure(3, msg);
    }
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, cli.port)) {
        Ok(l) => l,
        Err(err) => {
            return failure(
                1,
                format!("{TOOL}: cannot listen on 127.0.0.1:{}: {err}", cli.port),
            );
        }
    };
    let log = match open_log(cli) {
        Ok(log) => log,
        Err(msg) => return failure(3, msg),
    };
    let sim = start(cfg, cli.runner_style, log);
    if let Err(msg) = preload(&sim, &cli.preload) {
        sim.kill_all();
        return failure(1, msg);
    }
    let port = listener.local_addr().map_or(cli.port, |a| a.port());
    sim.lock().port = port;
    let listening = format!(
        "Listening on 127.0.0.1:{port} (version {})",
        sim.cfg.version
    );
    sim.log.info("routes.go:2008", &listening, &[]);
    for (fault, model) in &cli.fault {
        control::set(&sim, *fault, model.clone());
    }
    // Refused from the start: the port is closed before anyone learns it.
    let listener = (!sim.lock().faults.any(Fault::Refuse)).then_some(listener);
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on 127.0.0.1:{port}");
    let _ = stdout.flush();
    if let Some(listener) = listener {
        server::serve(&sim, &listener);
    }
    // The listener is closed (refuse): stay alive, runners and all.
    loop {
        std::thread::park();
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
    fn keep_alive_flag_reads_like_ollama_keep_alive() {
        assert_eq!(
            parse_keep_alive("300"),
            Ok(KeepAlive::For(Duration::from_secs(300)))
        );
        assert_eq!(
            parse_keep_alive("10m"),
            Ok(KeepAlive::For(Duration::from_secs(600)))
        );
        assert_eq!(parse_keep_alive("-1"), Ok(KeepAlive::Forever));
        assert!(parse_keep_alive("soon").is_err());
    }

    #[test]
    fn old_style_defaults_to_an_old_version() {
        let cli =
            selfheal_core::cli::parse::<Cli>(["ollama-sim", "--runner-style", "old"]).unwrap();
        assert_eq!(config(&cli).version, "0.5.4");
        let cli =
            selfheal_core::cli::parse::<Cli>(["ollama-sim", "--server-version", "0.12.0"]).unwrap();
        assert_eq!(config(&cli).version, "0.12.0");
    }
}
