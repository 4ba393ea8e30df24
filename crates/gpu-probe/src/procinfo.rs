//! Names GPU processes from `<proc>/<pid>/comm` and `<proc>/<pid>/cmdline`.
//! A process that is gone, or lives in another PID namespace (NVML reports
//! host pids), keeps no name: that is normal, not an error.

use crate::model::GpuProcess;
use regex::Regex;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Longest command line kept: a JVM's can be megabytes.
const CMDLINE_LIMIT: u64 = 4096;

/// `comm` without its newline.
#[must_use]
pub fn parse_comm(raw: &str) -> Option<String> {
    let name = raw.trim_end_matches('\n');
    (!name.is_empty()).then(|| name.to_owned())
}

/// `cmdline`'s NUL-separated argv as one space-separated line; `None` for
/// kernel threads and zombies, whose cmdline is empty.
#[must_use]
pub fn parse_cmdline(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let line = text
        .split('\0')
        .filter(|arg| !arg.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!line.is_empty()).then_some(line)
}

fn read_bounded(path: &Path, limit: u64) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)
        .ok()?
        .take(limit)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

/// Fills in the process's name and command line.
pub fn describe(proc_root: &Path, process: &mut GpuProcess) {
    let dir = proc_root.join(process.pid.to_string());
    process.name = read_bounded(&dir.join("comm"), 64)
        .and_then(|raw| parse_comm(&String::from_utf8_lossy(&raw)));
    process.cmdline =
        read_bounded(&dir.join("cmdline"), CMDLINE_LIMIT).and_then(|raw| parse_cmdline(&raw));
}

/// Whether `--process` keeps this process: its name or command line matches.
#[must_use]
pub fn matches(pattern: &Regex, process: &GpuProcess) -> bool {
    [&process.name, &process.cmdline]
        .into_iter()
        .flatten()
        .any(|text| pattern.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_of_an_ollama_runner_reads_as_argv() {
        let raw = b"/usr/lib/ollama/llama-server\0--model\0/root/.ollama/models/blobs/sha256-6a0746\0--port\0\x334567\0";
        assert_eq!(
            parse_cmdline(raw).as_deref(),
            Some(
                "/usr/lib/ollama/llama-server --model /root/.ollama/models/blobs/sha256-6a0746 --port 34567"
            )
        );
        assert_eq!(parse_cmdline(b""), None);
        assert_eq!(
            parse_comm("llama-server\n").as_deref(),
            Some("llama-server")
        );
        assert_eq!(parse_comm("\n"), None);
    }

    #[test]
    fn filter_matches_name_or_command_line() {
        let process = GpuProcess {
            name: Some("llama-server".into()),
            cmdline: Some("/usr/lib/ollama/llama-server --port 1".into()),
            ..GpuProcess::default()
        };
        assert!(matches(&Regex::new("^llama-server$").unwrap(), &process));
        assert!(matches(&Regex::new("ollama").unwrap(), &process));
        assert!(!matches(&Regex::new("^python").unwrap(), &process));
        assert!(!matches(&Regex::new("x").unwrap(), &GpuProcess::default()));
    }
}
