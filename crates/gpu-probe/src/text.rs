//! How values read in summaries and detail lines.

use crate::model::{Gpu, GpuProcess};
use std::fmt::Write as _;

/// Longest command line shown in a text detail line (JSON has it whole).
const CMDLINE_SHOWN: usize = 160;

/// Bytes in binary units with one decimal: `7.4GiB`, `512MiB`, `900B`.
#[must_use]
pub fn bytes(value: u64) -> String {
    scaled(value, f64::round)
}

/// Like [`bytes`] but rounded down, so "4.9GiB free" never reads as
/// reaching a 5GiB limit it is below.
#[must_use]
pub fn bytes_floor(value: u64) -> String {
    scaled(value, f64::floor)
}

fn scaled(value: u64, round: fn(f64) -> f64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if value < 1024 {
        return format!("{value}B");
    }
    let mut scaled = value as f64 / 1024.0;
    let mut unit = 0;
    while scaled >= 1024.0 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    let shown = format!("{:.1}", round(scaled * 10.0) / 10.0);
    format!(
        "{}{}",
        shown.strip_suffix(".0").unwrap_or(&shown),
        UNITS[unit]
    )
}

/// Whole seconds, humanly: `3m 12s`.
#[must_use]
pub fn seconds(value: f64) -> String {
    let whole = std::time::Duration::from_secs(value.max(0.0) as u64);
    humantime::format_duration(whole).to_string()
}

/// `GPU 0 GPU-5d1f… NVIDIA GeForce RTX 4090: 0% busy, 7.4GiB used of 24GiB, 45C, 35W of 450W, P8`
#[must_use]
pub fn gpu_line(gpu: &Gpu) -> String {
    let mut facts = Vec::new();
    if let Some(lost) = &gpu.lost {
        facts.push(format!("LOST ({lost})"));
    }
    if let Some(util) = gpu.utilization_gpu_percent {
        facts.push(format!("{util}% busy"));
    }
    if let Some(util) = gpu.utilization_memory_percent {
        facts.push(format!("memory {util}% busy"));
    }
    match (gpu.memory_used_bytes, gpu.memory_total_bytes) {
        (Some(used), Some(total)) => {
            facts.push(format!("{} used of {}", bytes(used), bytes(total)));
        }
        (Some(used), None) => facts.push(format!("{} used", bytes(used))),
        _ => {}
    }
    if let Some(temp) = gpu.temperature_celsius {
        facts.push(format!("{temp}C"));
    }
    match (gpu.power_watts, gpu.power_limit_watts) {
        (Some(w), Some(limit)) => facts.push(format!("{w}W of {limit}W")),
        (Some(w), None) => facts.push(format!("{w}W")),
        _ => {}
    }
    if let Some(p) = gpu.performance_state {
        facts.push(format!("P{p}"));
    }
    if gpu.idle_holding {
        let mut idle = "idle while holding memory".to_owned();
        if let Some(secs) = gpu.idle_seconds {
            let _ = write!(idle, " for {}", seconds(secs));
        }
        facts.push(idle);
    }
    facts.extend(gpu.errors.iter().map(|e| format!("cannot read {e}")));
    format!("{}: {}", gpu.describe(), facts.join(", "))
}

/// `  pid 4242 llama-server 7.4GiB (compute): /usr/lib/ollama/llama-server --model …`
#[must_use]
pub fn process_line(process: &GpuProcess) -> String {
    let mut line = format!(
        "  pid {} {} {} ({})",
        process.pid,
        process.name.as_deref().unwrap_or("?"),
        process.memory_bytes.map_or_else(|| "?".to_owned(), bytes),
        process.kind
    );
    if let Some(cmdline) = &process.cmdline {
        line.push_str(": ");
        let cut = cmdline
            .char_indices()
            .nth(CMDLINE_SHOWN)
            .map_or(cmdline.len(), |(i, _)| i);
        line.push_str(&cmdline[..cut]);
        if cut < cmdline.len() {
            line.push_str("...");
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_in_binary_units() {
        assert_eq!(bytes(900), "900B");
        assert_eq!(bytes(1024), "1KiB");
        assert_eq!(bytes(7_946_412_032), "7.4GiB");
        assert_eq!(bytes(24 << 30), "24GiB");
        assert_eq!(bytes(5_356_126_208), "5GiB");
        assert_eq!(bytes_floor(5_356_126_208), "4.9GiB");
    }

    #[test]
    fn long_command_lines_are_cut_in_text() {
        let process = GpuProcess {
            pid: 7,
            memory_bytes: Some(1 << 30),
            kind: "compute",
            name: Some("python3".into()),
            cmdline: Some("x".repeat(500)),
        };
        let line = process_line(&process);
        assert!(
            line.starts_with("  pid 7 python3 1GiB (compute): xxx"),
            "{line}"
        );
        assert!(line.ends_with("x..."), "{line}");
        assert!(line.len() < 220, "{line}");
    }
}
