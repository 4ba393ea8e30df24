//! Which processes to watch: `--pid`, every process whose command line
//! matches `--process` (never the probe itself or its parents), or the main
//! process of `--unit` after the unit layer passed.

use super::unit;
use crate::metrics;
use crate::procfs;
use selfheal_core::{Check, Report, Status};
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Watch this process
    #[arg(
        long,
        value_name = "PID",
        // 0 is no process (an empty pid file read as 0): a usage error, not "gone".
        value_parser = clap::value_parser!(u32).range(1..),
        env = "STALL_PROBE_PID",
        help_heading = "Sources"
    )]
    pub pid: Option<u32>,
    /// Watch every process whose command line matches this regex
    #[arg(
        long,
        value_name = "REGEX",
        env = "STALL_PROBE_PROCESS",
        help_heading = "Sources"
    )]
    pub process: Option<String>,
    /// Watch this systemd unit: is it active, is its main process there, is it making progress
    #[arg(
        long,
        value_name = "UNIT",
        env = "STALL_PROBE_UNIT",
        help_heading = "Sources"
    )]
    pub unit: Option<String>,
    /// Where to read processes from
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/proc",
        env = "STALL_PROBE_PROC_ROOT"
    )]
    pub proc_root: PathBuf,
    #[command(flatten)]
    pub systemd: selfheal_core::cli::SystemctlArgs,
}

/// A process to judge, under its metric key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub key: String,
    pub pid: u32,
}

/// Nothing to judge: why, under which key. Always CRITICAL — the worker is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub key: String,
    pub why: String,
}

impl TargetArgs {
    #[must_use]
    pub fn is_set(&self) -> bool {
        self.pid.is_some() || self.process.is_some() || self.unit.is_some()
    }

    /// A state name for this selection.
    #[must_use]
    pub fn default_name(&self) -> String {
        match (&self.pid, &self.process, &self.unit) {
            (Some(pid), _, _) => format!("pid-{pid}"),
            (_, Some(pattern), _) => crate::history::name_from("process", pattern),
            (_, _, Some(unit)) => crate::history::name_from("unit", unit),
            _ => "stall-probe".into(),
        }
    }

    /// The processes to judge, adding the unit layer's check to `report`.
    pub fn find(&self, report: &mut Report) -> anyhow::Result<Result<Vec<Target>, Missing>> {
        if let Some(pid) = self.pid {
            return Ok(Ok(vec![Target {
                key: pid.to_string(),
                pid,
            }]));
        }
        if let Some(pattern) = &self.process {
            return self.matching(pattern);
        }
        let unit_name = self.unit.clone().unwrap_or_default();
        let info = unit::query(&self.systemd.systemctl, &unit_name, &self.proc_root)?;
        let (status, line) = unit::judge(&unit_name, &info);
        report.check(Check::new("unit", status, line.clone()));
        metrics::unit(
            report,
            &unit_name,
            info.active_state == "active",
            info.n_restarts,
        );
        if status != Status::Ok {
            return Ok(Err(Missing {
                key: unit_name,
                why: line,
            }));
        }
        Ok(Ok(vec![Target {
            key: unit_name,
            pid: info.main_pid,
        }]))
    }

    fn matching(&self, pattern: &str) -> anyhow::Result<Result<Vec<Target>, Missing>> {
        let regex = regex::Regex::new(pattern)
            .map_err(|e| anyhow::anyhow!("--process {pattern:?} is not a valid regex: {e}"))?;
        let skip = procfs::self_and_ancestors(&self.proc_root);
        let mut found = Vec::new();
        for pid in procfs::pids(&self.proc_root)? {
            if skip.contains(&pid) {
                continue;
            }
            let Ok(Some(process)) = procfs::read_process(&self.proc_root, pid) else {
                continue;
            };
            let line = procfs::command_line(&self.proc_root, pid, &process.stat.comm);
            if regex.is_match(&line) {
                found.push(Target {
                    key: pid.to_string(),
                    pid,
                });
            }
        }
        if found.is_empty() {
            return Ok(Err(Missing {
                key: pattern.to_owned(),
                why: format!("no process's command line matches --process {pattern:?}"),
            }));
        }
        Ok(Ok(found))
    }
}
