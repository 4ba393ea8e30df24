//! `--unit UNIT`: the first layer of the layered check. systemd is asked
//! (`systemctl show`, argv, with a deadline) whether the unit is loaded and
//! active and which process is its main one; progress is then judged on
//! that process. Without systemd this is UNKNOWN, saying what to use instead.

use selfheal_core::Status;
use selfheal_core::command::{self, Spec};
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

/// What systemd says about a unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitInfo {
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    pub main_pid: u32,
    pub n_restarts: Option<u64>,
}

/// Parses `systemctl show -p LoadState -p ActiveState -p SubState -p
/// MainPID -p NRestarts` output (`KEY=VALUE` lines).
pub fn parse_show(text: &str, unit: &str) -> Result<UnitInfo, String> {
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().to_owned())
    };
    let load_state = value("LoadState")
        .ok_or_else(|| format!("systemctl printed no LoadState for {unit}: {text:?}"))?;
    let main_pid = value("MainPID").unwrap_or_default();
    Ok(UnitInfo {
        load_state,
        active_state: value("ActiveState").unwrap_or_default(),
        sub_state: value("SubState").unwrap_or_default(),
        main_pid: main_pid.parse().unwrap_or(0),
        n_restarts: value("NRestarts").and_then(|n| n.parse().ok()),
    })
}

/// The unit layer's verdict: CRITICAL when it is not running a main
/// process, `None` when the process layer should go on.
#[must_use]
pub fn judge(unit: &str, info: &UnitInfo) -> (Status, String) {
    let state = format!("{}/{}", info.active_state, info.sub_state);
    if info.load_state == "not-found" {
        return (
            Status::Critical,
            format!("unit {unit} not found (LoadState=not-found)"),
        );
    }
    if info.active_state != "active" && info.active_state != "reloading" {
        return (
            Status::Critical,
            format!("unit {unit} is {state}, not active"),
        );
    }
    if info.main_pid == 0 {
        return (
            Status::Critical,
            format!("unit {unit} is {state} but has no main process"),
        );
    }
    let restarts = info
        .n_restarts
        .map(|n| format!(", {n} restart(s)"))
        .unwrap_or_default();
    (
        Status::Ok,
        format!(
            "unit {unit} is {state}, main pid {}{restarts}",
            info.main_pid
        ),
    )
}

/// Runs systemctl; no systemd, or systemctl failing, is an error (UNKNOWN).
pub fn query(systemctl: &OsString, unit: &str, proc_root: &Path) -> anyhow::Result<UnitInfo> {
    let mut argv: Vec<OsString> = vec![systemctl.clone(), "show".into()];
    for property in [
        "LoadState",
        "ActiveState",
        "SubState",
        "MainPID",
        "NRestarts",
    ] {
        argv.extend(["-p".into(), property.into()]);
    }
    argv.extend(["--".into(), unit.into()]);
    let mut spec = Spec::new(argv, Duration::from_secs(10));
    spec.capture_stdout = true;
    let no_systemd = "watch the process itself with --pid or --process instead";
    let done = command::run(&spec).map_err(|e| {
        anyhow::anyhow!(
            "cannot run {}: {e}: --unit needs systemd; {no_systemd}",
            systemctl.to_string_lossy()
        )
    })?;
    if !done.status.is_some_and(|s| s.success()) {
        let pid1 = std::fs::read_to_string(proc_root.join("1/comm")).unwrap_or_default();
        let pid1 = pid1.trim();
        let hint = if pid1 == "systemd" {
            "see systemctl's message on stderr".to_owned()
        } else {
            format!("PID 1 is {pid1:?}, not systemd: {no_systemd}")
        };
        anyhow::bail!("systemctl show {unit} failed ({}): {hint}", done.describe());
    }
    parse_show(&String::from_utf8_lossy(&done.stdout), unit).map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    // `systemctl show -p ... trader@BTC.service` on systemd 252.
    const ACTIVE: &str =
        "MainPID=4242\nNRestarts=3\nLoadState=loaded\nActiveState=active\nSubState=running\n";

    #[test]
    fn parses_show_output() {
        let info = parse_show(ACTIVE, "x").unwrap();
        assert_eq!(info.main_pid, 4242);
        assert_eq!(info.n_restarts, Some(3));
        assert_eq!(judge("x", &info).0, Status::Ok);
        assert!(parse_show("", "x").unwrap_err().contains("LoadState"));
    }

    #[test]
    fn a_unit_not_running_its_process_is_critical() {
        let failed = ACTIVE
            .replace("ActiveState=active", "ActiveState=failed")
            .replace("SubState=running", "SubState=failed");
        let (status, line) = judge("x", &parse_show(&failed, "x").unwrap());
        assert_eq!(
            (status, line.as_str()),
            (Status::Critical, "unit x is failed/failed, not active")
        );
        let no_pid = ACTIVE.replace("MainPID=4242", "MainPID=0");
        assert!(
            judge("x", &parse_show(&no_pid, "x").unwrap())
                .1
                .contains("no main process")
        );
        let missing = "LoadState=not-found\nActiveState=inactive\nMainPID=0\n";
        assert!(
            judge("x", &parse_show(missing, "x").unwrap())
                .1
                .contains("not found")
        );
    }
}
