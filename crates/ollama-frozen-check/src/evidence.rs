//! What each layer saw in one run, as data: the judge reads it and the
//! JSON `details.layers` shows it.

use crate::api::{Generation, Health, Loaded, Slots};
use crate::procs;
use serde::Serialize;

/// How the HTTP API answered a light request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    /// A proper Ollama answer.
    Ok,
    /// Connection refused: nothing listens.
    Refused,
    /// Accepted, then nothing within the deadline.
    Silent,
    /// Bytes came, too slowly to finish within the deadline.
    Trickle,
    /// An answer, but not Ollama's (status, content type, JSON, size).
    NotOllama,
    /// DNS, routing, reset.
    Unreachable,
}

#[derive(Debug, Clone, Serialize)]
pub struct Light {
    pub answer: Answer,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Version {
    #[serde(flatten)]
    pub light: Light,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ps {
    #[serde(flatten)]
    pub light: Light,
    pub models: Vec<Loaded>,
}

/// Layer 3 for one runner process.
#[derive(Debug, Clone, Serialize)]
pub struct RunnerCheck {
    pub pid: u32,
    pub port: Option<u16>,
    pub state: char,
    pub model_blob: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots: Option<Slots>,
    /// `/slots` read again after the end-to-end probes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots_after: Option<Slots>,
    /// `/slots` did not answer: its compute loop is not turning.
    pub slots_hung: bool,
}

impl RunnerCheck {
    /// Tokens decoded between the two `/slots` reads of this run.
    #[must_use]
    pub fn decoded_during_run(&self) -> u64 {
        match (&self.slots, &self.slots_after) {
            (Some(a), Some(b)) => b.decoded.saturating_sub(a.decoded),
            _ => 0,
        }
    }

    #[must_use]
    pub fn loading(&self) -> bool {
        matches!(self.health, Some(Health::Loading { .. }))
    }
}

/// How an end-to-end probe of one model ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum E2eEnd {
    /// Done, with a token (or embeddings).
    Ok,
    /// A fast 503: the queue is full.
    Busy503,
    /// An error answer (HTTP error or an `{"error"}` line).
    Error,
    /// Not a byte before the deadline.
    Silent,
    /// Lines came but no `done` before the deadline.
    Streaming,
    /// Refused or broken connection.
    Unreachable,
}

#[derive(Debug, Clone, Serialize)]
pub struct E2e {
    pub model: String,
    pub end: E2eEnd,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the request asked for, to show it was harmless.
    pub request: serde_json::Value,
    pub generation: Generation,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    pub name: String,
    pub address: String,
    #[serde(flatten)]
    pub light: Light,
}

/// A known log line seen in the server's recent log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogSign {
    pub signature: &'static str,
    pub verdict_hint: &'static str,
    pub line: String,
}

/// Everything one run saw.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub url: String,
    /// `None` for a server on another host (processes not visible).
    pub processes: Option<procs::View>,
    pub version: Version,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ps: Option<Ps>,
    /// `/api/ps` read again at the end of the run (only when judging needs it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ps_after: Option<Ps>,
    pub runners: Vec<RunnerCheck>,
    pub e2e: Vec<E2e>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e2e_skipped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_probe: Option<E2e>,
    pub hops: Vec<Hop>,
    pub log_signs: Vec<LogSign>,
    /// NVML's view of the runners' GPUs (local servers, with a library).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<crate::gpu::GpuView>,
    /// NVML read again at the end of the run (only when judging needs it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_after: Option<crate::gpu::GpuView>,
    /// Seconds each layer took: l0..l4, gpu, hops, logs.
    pub durations: std::collections::BTreeMap<&'static str, f64>,
}

impl Evidence {
    /// The server's own runners: children of the process on the port (all
    /// runners seen when the server process is unknown).
    #[must_use]
    pub fn server_pid(&self) -> Option<u32> {
        self.processes.as_ref()?.server.as_ref().map(|s| s.pid)
    }

    #[must_use]
    pub fn models(&self) -> &[Loaded] {
        self.ps.as_ref().map_or(&[], |p| p.models.as_slice())
    }
}
