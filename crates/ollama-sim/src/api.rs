//! Ollama's light endpoints (`/`, `/api/version`, `/api/tags`, `/api/ps`)
//! and `/api/embed`, with the field names, types and omissions of
//! `api/types.go`.

use crate::faults::Fault;
use crate::generate::parse_body;
use crate::http::{Out, TEXT};
use crate::keepalive;
use crate::sched::{Sim, later};
use crate::timefmt::rfc3339_nano;
use serde::Deserialize;
use serde_json::{Value, json};
use std::io;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub fn root(out: &mut Out) -> io::Result<()> {
    out.respond(200, TEXT, b"Ollama is running")
}

pub fn version(sim: &Sim, out: &mut Out) -> io::Result<()> {
    out.json(200, &json!({ "version": sim.cfg.version }))
}

pub fn tags(sim: &Sim, out: &mut Out) -> io::Result<()> {
    // A fixed pull time, so repeated listings are identical.
    let modified = UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600);
    let models: Vec<Value> = sim
        .cfg
        .models
        .iter()
        .map(|m| {
            let mut entry = json!({
                "name": m.name,
                "model": m.name,
                "modified_at": rfc3339_nano(modified, sim.cfg.utc_offset),
                "size": m.disk_size,
                "digest": m.digest,
                "details": m.details(),
            });
            if !sim.cfg.old_style {
                entry["capabilities"] = m.capabilities();
            }
            entry
        })
        .collect();
    out.json(200, &json!({ "models": models }))
}

/// `/api/ps`: loaded and loading models, latest `expires_at` first.
#[must_use]
pub fn ps_value(sim: &Sim) -> Value {
    let now = SystemTime::now();
    let st = sim.lock();
    let mut rows: Vec<(SystemTime, Value)> = st
        .loaded
        .values()
        .map(|l| {
            // Zero until the first request ends: reported as now + session.
            let expires = l
                .expires_at
                .unwrap_or_else(|| later(now, l.session.duration()));
            let on_cpu = st.faults.on(Fault::CpuFallback, &l.spec.name);
            let mut entry = json!({
                "name": l.spec.name,
                "model": l.spec.name,
                "size": l.spec.vram,
                "digest": l.spec.digest,
                "details": l.spec.details(),
                "expires_at": rfc3339_nano(expires, sim.cfg.utc_offset),
                "size_vram": if on_cpu { 0 } else { l.spec.vram },
            });
            if !sim.cfg.old_style {
                entry["context_length"] = json!(l.num_ctx);
            }
            (expires, entry)
        })
        .collect();
    drop(st);
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    json!({ "models": rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>() })
}

pub fn ps(sim: &Sim, out: &mut Out) -> io::Result<()> {
    out.json(200, &ps_value(sim))
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
    let Some(model) = request.model.filter(|m| !m.is_empty()) else {
        return out.error(400, "model is required");
    };
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
    let mut answer = json!({ "model": model, "embeddings": embeddings });
    if !inputs.is_empty() {
        answer["total_duration"] = json!(started.elapsed().as_nanos() as u64);
        answer["load_duration"] = json!(load_ns.max(1));
        answer["prompt_eval_count"] = json!(tokens);
    }
    out.json(200, &answer)
}
