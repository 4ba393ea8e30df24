//! Ollama's light endpoints (`/`, `/api/version`, `/api/tags`, `/api/ps`)
//! and `/api/embed`, with the field names, types and omissions of
//! `api/types.go`.

use crate::faults::Fault;
use crate::generate::parse_body;
use crate::http::{Out, TEXT};
use crate::keepalive;
use crate::models::Details;
use crate::sched::{Sim, later};
use crate::timefmt::rfc3339_nano;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::io;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub fn root(out: &mut Out) -> io::Result<()> {
    out.respond(200, TEXT, b"Ollama is running")
}

pub fn version(sim: &Sim, out: &mut Out) -> io::Result<()> {
    out.json(200, &json!({ "version": sim.cfg.version }))
}

/// `{"models":[…]}` of `/api/tags` and `/api/ps`.
#[derive(Serialize)]
struct Models<T> {
    models: Vec<T>,
}

/// `api.EmbedResponse`, zero durations and counts omitted.
#[derive(Serialize)]
struct EmbedResponse {
    model: String,
    embeddings: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_duration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    load_duration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_eval_count: Option<usize>,
}

/// `api.ListModelResponse`, fields in its order.
#[derive(Serialize)]
struct ListEntry<'a> {
    name: &'a str,
    model: &'a str,
    modified_at: String,
    size: u64,
    digest: &'a str,
    details: Details,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    capabilities: Vec<&'static str>,
}

/// `api.ProcessModelResponse`, fields in its order.
#[derive(Serialize)]
struct PsEntry<'a> {
    name: &'a str,
    model: &'a str,
    size: u64,
    digest: &'a str,
    details: Details,
    expires_at: String,
    size_vram: u64,
    /// Absent before v0.9.7 (old-style servers).
    #[serde(skip_serializing_if = "Option::is_none")]
    context_length: Option<u32>,
}

pub fn tags(sim: &Sim, out: &mut Out) -> io::Result<()> {
    // A fixed pull time, so repeated listings are identical.
    let modified = UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600);
    let new_style = !sim.cfg.old_style;
    let models: Vec<ListEntry> = sim
        .cfg
        .models
        .iter()
        .map(|m| ListEntry {
            name: &m.name,
            model: &m.name,
            modified_at: rfc3339_nano(modified, sim.cfg.utc_offset),
            size: m.disk_size,
            digest: &m.digest,
            details: m.details(new_style),
            capabilities: if new_style {
                m.capabilities()
            } else {
                Vec::new()
            },
        })
        .collect();
    send(out, &Models { models })
}

fn send(out: &mut Out, value: &impl Serialize) -> io::Result<()> {
    let body = serde_json::to_string(value).expect("response serializes");
    out.respond(200, crate::http::JSON, body.as_bytes())
}

/// `/api/ps`: loaded and loading models, latest `expires_at` first.
#[must_use]
pub fn ps_body(sim: &Sim) -> String {
    let now = SystemTime::now();
    let st = sim.lock();
    let mut rows: Vec<(SystemTime, PsEntry)> = st
        .loaded
        .values()
        .map(|l| {
            // Zero until the first request ends: reported as now + session.
            let expires = l
                .expires_at
                .unwrap_or_else(|| later(now, l.session.duration()));
            let on_cpu = st.faults.on(Fault::CpuFallback, &l.spec.name);
            let entry = PsEntry {
                name: &l.spec.name,
                model: &l.spec.name,
                size: l.spec.vram,
                digest: &l.spec.digest,
                details: l.spec.details(false),
                expires_at: rfc3339_nano(expires, sim.cfg.utc_offset),
                size_vram: if on_cpu { 0 } else { l.spec.vram },
                context_length: (!sim.cfg.old_style).then_some(l.num_ctx),
            };
            (expires, entry)
        })
        .collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    let models: Vec<PsEntry> = rows.into_iter().map(|(_, entry)| entry).collect();
    let body = serde_json::to_string(&Models { models }).expect("ps serializes");
    drop(st);
    body
}

pub fn ps(sim: &Sim, out: &mut Out) -> io::Result<()> {
    while sim.cfg.ps_blocks_during_load && sim.lock().loaded.values().any(|l| !l.ready) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    out.respond(200, crate::http::JSON, ps_body(sim).as_bytes())
}

#[derive(Debug, Deserialize)]
struct EmbedRequest {
    model: Option<String>,
    input: Option<Value>,
    keep_alive: Option<Value>,
    dimensions: Option<usize>,
}

fn inputs(input: Option<&Value>) -> Result<Vec<String>, String> {
    match input {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "invalid input type".to_string())
            })
            .collect(),
        Some(_) => Err("invalid input type".into()),
    }
}

fn shorten(vector: &Value, dimensions: Option<usize>) -> Value {
    let (Some(n), Some(values)) = (dimensions, vector.as_array()) else {
        return vector.clone();
    };
    let cut: Vec<f64> = values.iter().take(n).filter_map(Value::as_f64).collect();
    let norm = cut
        .iter()
        .map(|v| v * v)
        .sum::<f64>()
        .sqrt()
        .max(f64::EPSILON);
    json!(cut.iter().map(|v| v / norm).collect::<Vec<_>>())
}

/// `POST /api/embed`: `{"model","embeddings":[[…]],"total_duration",…}`.
pub fn embed(sim: &Sim, body: &[u8], out: &mut Out) -> io::Result<()> {
    let started = Instant::now();
    let request: EmbedRequest = match parse_body(body) {
        Ok(r) => r,
        Err(msg) => return out.error(400, &msg),
    };
    let keep_alive = match keepalive::parse(request.keep_alive.as_ref()) {
        Ok(k) => k,
        Err(msg) => return out.error(400, &msg),
    };
    let model = request.model.unwrap_or_default();
    let inputs = match inputs(request.input.as_ref()) {
        Ok(i) => i,
        Err(msg) => return out.error(400, &msg),
    };
    let Some(spec) = sim.find(&model).cloned() else {
        return out.error(404, &format!("model '{model}' not found"));
    };
    let attached = match sim.acquire(&spec, keep_alive, None, true) {
        Ok(a) => a,
        Err((status, msg)) => return out.error(status, &msg),
    };
    let load_ns = started.elapsed().as_nanos() as u64;
    let vectors = if inputs.is_empty() {
        Ok(Vec::new())
    } else {
        crate::runners::embed(attached.port, &inputs)
    };
    sim.release(&attached);
    let Ok(vectors) = vectors else {
        return out.error(500, crate::generate::RUNNER_STOPPED);
    };
    let embeddings: Vec<Value> = vectors
        .iter()
        .map(|v| shorten(v, request.dimensions))
        .collect();
    let tokens: usize = inputs
        .iter()
        .map(|t| t.split_whitespace().count() + 2)
        .sum();
    let timed = !inputs.is_empty();
    let answer = EmbedResponse {
        model,
        embeddings,
        total_duration: timed.then(|| started.elapsed().as_nanos() as u64),
        load_duration: timed.then_some(load_ns.max(1)),
        prompt_eval_count: timed.then_some(tokens),
    };
    send(out, &answer)
}
