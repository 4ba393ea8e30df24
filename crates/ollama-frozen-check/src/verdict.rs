//! The words the check answers with, and the remedies it suggests, least
//! disruptive first. The remedy is data (kind, pid, unit, argv) so a
//! composition can act on it; the check itself never acts.

use selfheal_core::Status;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    Busy,
    Loading,
    Overloaded,
    CpuFallback,
    Slow,
    Down,
    ModelWedged,
    LoadsStuck,
    Thrashing,
    Frozen,
}

impl Verdict {
    pub const ALL: [Verdict; 11] = [
        Verdict::Ok,
        Verdict::Busy,
        Verdict::Loading,
        Verdict::Overloaded,
        Verdict::CpuFallback,
        Verdict::Slow,
        Verdict::Down,
        Verdict::ModelWedged,
        Verdict::LoadsStuck,
        Verdict::Thrashing,
        Verdict::Frozen,
    ];

    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Busy => "busy",
            Verdict::Loading => "loading",
            Verdict::Overloaded => "overloaded",
            Verdict::CpuFallback => "cpu-fallback",
            Verdict::Slow => "slow",
            Verdict::Down => "down",
            Verdict::ModelWedged => "model-wedged",
            Verdict::LoadsStuck => "loads-stuck",
            Verdict::Thrashing => "thrashing",
            Verdict::Frozen => "frozen",
        }
    }

    /// Serving generations, whatever else is going on.
    #[must_use]
    pub fn healthy(self) -> bool {
        matches!(self, Verdict::Ok | Verdict::Busy | Verdict::Loading)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemedyKind {
    None,
    KillRunner,
    RestartServer,
    ReloadGpuDriverOrReboot,
    ReportOnly,
}

impl RemedyKind {
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            RemedyKind::None => "none",
            RemedyKind::KillRunner => "kill-runner",
            RemedyKind::RestartServer => "restart-server",
            RemedyKind::ReloadGpuDriverOrReboot => "reload-gpu-driver-or-reboot",
            RemedyKind::ReportOnly => "report-only",
        }
    }
}

/// A suggested remedy, ready for a composition to act on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remedy {
    pub kind: RemedyKind,
    /// The runner to kill, or the server process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The systemd unit that owns the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The command to run, as argv (never a shell line); absent when a
    /// human must decide.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    pub why: String,
}

impl Remedy {
    #[must_use]
    pub fn none() -> Remedy {
        Remedy::new(RemedyKind::None, "")
    }

    #[must_use]
    pub fn new(kind: RemedyKind, why: &str) -> Remedy {
        Remedy {
            kind,
            pid: None,
            unit: None,
            command: None,
            why: why.to_owned(),
        }
    }

    /// Kill one runner: in-flight requests on that model fail, the model
    /// unloads, the next request loads it again.
    #[must_use]
    pub fn kill_runner(pid: u32) -> Remedy {
        Remedy {
            pid: Some(pid),
            command: Some(vec!["kill".into(), "-KILL".into(), pid.to_string()]),
            ..Remedy::new(
                RemedyKind::KillRunner,
                "kill only this model's runner; the next request loads the model again",
            )
        }
    }

    /// Restart the server through its supervisor when one owns it
    /// (killing a supervised process only makes it start again at once).
    #[must_use]
    pub fn restart_server(pid: Option<u32>, unit: Option<&(String, bool)>) -> Remedy {
        let mut remedy = Remedy {
            pid,
            ..Remedy::new(
                RemedyKind::RestartServer,
                "restart the server; make sure its port is free and no runner is left before it starts",
            )
        };
        if let Some((unit, user)) = unit {
            let mut argv = vec!["systemctl".to_owned()];
            if *user {
                argv.push("--user".into());
            }
            argv.extend(["restart".to_owned(), unit.clone()]);
            remedy.command = Some(argv);
            remedy.unit = Some(unit.clone());
        }
        remedy
    }
}

/// Exit status of a verdict once declared.
#[must_use]
pub fn status_of(verdict: Verdict, remedy: RemedyKind) -> Status {
    match verdict {
        Verdict::Ok | Verdict::Busy => Status::Ok,
        Verdict::Loading if remedy == RemedyKind::None => Status::Ok,
        Verdict::Overloaded | Verdict::Slow | Verdict::Thrashing => Status::Warning,
        // Clients cannot reach it, whoever must fix it.
        Verdict::Down => Status::Critical,
        _ if remedy == RemedyKind::ReportOnly => Status::Warning,
        _ => Status::Critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_the_documented_ones() {
        let words: Vec<&str> = Verdict::ALL.iter().map(|v| v.word()).collect();
        assert_eq!(
            words.join(" "),
            "ok busy loading overloaded cpu-fallback slow down model-wedged loads-stuck thrashing frozen"
        );
        for v in Verdict::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.word());
        }
    }

    #[test]
    fn restart_goes_through_systemd_when_a_unit_owns_the_server() {
        let system = Remedy::restart_server(Some(812), Some(&("ollama.service".into(), false)));
        assert_eq!(
            system.command.unwrap(),
            ["systemctl", "restart", "ollama.service"]
        );
        let user = Remedy::restart_server(None, Some(&("ollama.service".into(), true)));
        assert_eq!(
            user.command.unwrap(),
            ["systemctl", "--user", "restart", "ollama.service"]
        );
        assert_eq!(Remedy::restart_server(Some(1), None).command, None);
        assert_eq!(
            Remedy::kill_runner(42).command.unwrap(),
            ["kill", "-KILL", "42"]
        );
    }

    #[test]
    fn report_only_findings_warn_unless_clients_are_cut_off() {
        assert_eq!(
            status_of(Verdict::Down, RemedyKind::ReportOnly),
            Status::Critical
        );
        assert_eq!(
            status_of(Verdict::LoadsStuck, RemedyKind::ReportOnly),
            Status::Warning
        );
        assert_eq!(
            status_of(Verdict::Down, RemedyKind::RestartServer),
            Status::Critical
        );
        assert_eq!(
            status_of(Verdict::Thrashing, RemedyKind::ReportOnly),
            Status::Warning
        );
        assert_eq!(status_of(Verdict::Busy, RemedyKind::None), Status::Ok);
    }
}
