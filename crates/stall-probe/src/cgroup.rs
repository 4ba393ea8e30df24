//! A cgroup v2 directory as `trend --cgroup` reads it: `cpu.stat`
//! (`usage_usec`), `memory.current`, `cpu.max` (the CPU limit) and the PSI
//! files `cpu.pressure` / `memory.pressure` (`some ... total=<µs>`), which
//! exist on kernels with PSI. Parsers are pure; [`read`] does the I/O.

use std::path::Path;

/// One reading of a cgroup.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub cpu_seconds: f64,
    pub memory_bytes: f64,
    /// Cores the cgroup may use: `cpu.max` quota/period, else `fallback`.
    pub cpu_limit: f64,
    /// PSI `some` totals (µs): cpu, memory.
    pub pressure_us: Option<(f64, f64)>,
}

/// `usage_usec` from `cpu.stat`, in seconds.
#[must_use]
pub fn parse_cpu_stat(text: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|usec| usec / 1e6)
}

/// `cpu.max`: `max 100000` (no limit) or `QUOTA PERIOD`, as cores.
#[must_use]
pub fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut parts = text.split_whitespace();
    let quota = parts.next()?;
    let period: f64 = parts.next()?.parse().ok()?;
    if quota == "max" || period <= 0.0 {
        return None;
    }
    Some(quota.parse::<f64>().ok()? / period)
}

/// The `total=` of a PSI file's `some` line, in microseconds.
#[must_use]
pub fn parse_pressure_some(text: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with("some "))?
        .split_whitespace()
        .find_map(|field| field.strip_prefix("total="))
        .and_then(|v| v.parse().ok())
}

/// Reads `dir`, a cgroup v2 directory; `fallback_cores` when it has no CPU limit.
pub fn read(dir: &Path, fallback_cores: f64) -> anyhow::Result<Reading> {
    let file = |name: &str| std::fs::read_to_string(dir.join(name));
    let cpu_stat = file("cpu.stat").map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e} (--cgroup needs a cgroup v2 directory, e.g. system.slice/ollama.service under /sys/fs/cgroup)",
            dir.join("cpu.stat").display()
        )
    })?;
    let cpu_seconds = parse_cpu_stat(&cpu_stat).ok_or_else(|| {
        anyhow::anyhow!("{} has no usage_usec line", dir.join("cpu.stat").display())
    })?;
    let memory = file("memory.current").map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e} (is the memory controller enabled for this cgroup?)",
            dir.join("memory.current").display()
        )
    })?;
    let memory_bytes = memory.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "{} is {:?}, not a number",
            dir.join("memory.current").display(),
            memory.trim()
        )
    })?;
    let pressure = |name: &str| file(name).ok().and_then(|t| parse_pressure_some(&t));
    Ok(Reading {
        cpu_seconds,
        memory_bytes,
        cpu_limit: file("cpu.max")
            .ok()
            .and_then(|t| parse_cpu_max(&t))
            .unwrap_or(fallback_cores),
        pressure_us: pressure("cpu.pressure").zip(pressure("memory.pressure")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_cgroup_v2_files() {
        let stat = "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n";
        assert_eq!(parse_cpu_stat(stat), Some(2.5));
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("50000 100000\n"), Some(0.5));
        let psi = "some avg10=1.66 avg60=3.63 avg300=2.17 total=12345678\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(parse_pressure_some(psi), Some(12_345_678.0));
    }

    #[test]
    fn reads_a_fixture_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cpu.stat"), "usage_usec 1000000\n").unwrap();
        std::fs::write(dir.path().join("memory.current"), "4096\n").unwrap();
        std::fs::write(dir.path().join("cpu.max"), "200000 100000\n").unwrap();
        let reading = read(dir.path(), 8.0).unwrap();
        assert_eq!(
            (reading.cpu_seconds, reading.memory_bytes, reading.cpu_limit),
            (1.0, 4096.0, 2.0)
        );
        assert_eq!(reading.pressure_us, None);
        std::fs::remove_file(dir.path().join("memory.current")).unwrap();
        assert!(
            read(dir.path(), 8.0)
                .unwrap_err()
                .to_string()
                .contains("memory.current")
        );
    }
}
