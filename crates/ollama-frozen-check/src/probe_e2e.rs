//! Layer 4, end to end: a one-token generate (or an embedding) on each
//! loaded model, sent with the model's remaining keep-alive and only
//! `num_ctx` among runner options, and `--load-probe`'s one token from a
//! model that is not loaded.

use crate::api::{Generation, Loaded};
use crate::evidence::{E2e, E2eEnd, Evidence};
use crate::http::{self, Failure};
use crate::probe::{Settings, secs};
use crate::target::Target;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Byte cap of a generate stream.
const STREAM_LIMIT: u64 = 1 << 20;

/// The request layer 4 sends for `model` at wall time `now`.
#[must_use]
pub fn e2e_request(model: &Loaded, now: f64, embedding: bool) -> Value {
    let mut options = json!({});
    if let Some(ctx) = model.context_length {
        options["num_ctx"] = json!(ctx);
    }
    let mut body = if embedding {
        json!({ "model": model.name, "input": "hi", "truncate": true })
    } else {
        options["num_predict"] = json!(1);
        json!({ "model": model.name, "prompt": "hi", "raw": true, "stream": true })
    };
    body["options"] = options;
    // The remaining keep-alive, so the probe does not move the expiry.
    // Pinned models and models whose expiry already passed (a request is
    // attached; its end re-arms the user's keep-alive) get none: never 0,
    // which would unload the model.
    if let Some(left) = model.remaining(now)
        && left > 0.0
        && !model.pinned(now)
    {
        body["keep_alive"] = json!((left.max(1.0) * 1000.0).round() / 1000.0);
    }
    body
}

/// Layer 4: sends `request` to `/api/generate` (or `/api/embed`).
#[must_use]
pub fn e2e(
    target: &Target,
    model: &str,
    request: Value,
    embedding: bool,
    deadline: Duration,
) -> E2e {
    let path = if embedding {
        "/api/embed"
    } else {
        "/api/generate"
    };
    let mut generation = Generation::default();
    let mut status = None;
    let auth = target.auth.as_ref().map(crate::target::Credentials::header);
    let timed = http::post_lines(
        (&target.endpoint(path), auth.as_deref()),
        &request.to_string(),
        deadline,
        STREAM_LIMIT,
        |code, line| {
            status = Some(code);
            generation.feed(line)
        },
    );
    let end = match (&timed.result, status) {
        (_, Some(503)) => E2eEnd::Busy503,
        (Ok(200), _) if generation.succeeded() => E2eEnd::Ok,
        (Err(Failure::Timeout { .. }), _) if generation.lines > 0 => E2eEnd::Streaming,
        (Err(Failure::Timeout { bytes: 0 }), None) => E2eEnd::Silent,
        (Err(Failure::Timeout { .. }), None) => E2eEnd::Streaming,
        (Err(Failure::Refused | Failure::Broken(_)), _) => E2eEnd::Unreachable,
        (Ok(_) | Err(_), _) => E2eEnd::Error,
    };
    let error = generation
        .error
        .clone()
        .or_else(|| timed.failure_text())
        .filter(|_| end != E2eEnd::Ok);
    E2e {
        model: model.to_owned(),
        end,
        seconds: secs(timed.elapsed),
        http_status: status.or(timed.result.as_ref().ok().copied()),
        error,
        request,
        generation,
    }
}

fn unsupported(probe: &E2e) -> bool {
    probe.http_status == Some(400)
        && probe
            .error
            .as_deref()
            .is_some_and(|e| e.contains("does not support generate"))
}

/// Layer 4 over every loaded model, sharing what is left of the run;
/// models found to only embed are added to `embedding`.
pub fn e2e_all(s: &Settings, ev: &mut Evidence, embedding: &mut Vec<String>) {
    let started = Instant::now();
    let models: Vec<Loaded> = ev.models().to_vec();
    for (i, model) in models.iter().enumerate() {
        let share =
            s.left().saturating_sub(Duration::from_millis(1500)) / (models.len() - i) as u32;
        let deadline = share.clamp(Duration::from_millis(200), Duration::from_secs(60));
        let embeds = embedding.contains(&model.name);
        // The remaining keep-alive as of sending, not of the run's start.
        let now = selfheal_core::clock::Stamp::now().unix;
        let request = e2e_request(model, now, embeds);
        let mut probe = e2e(&s.target, &model.name, request, embeds, deadline);
        if !embeds && unsupported(&probe) {
            embedding.push(model.name.clone());
            let request = e2e_request(model, now, true);
            probe = e2e(&s.target, &model.name, request, true, deadline);
        }
        ev.e2e.push(probe);
    }
    ev.durations.insert("l4", secs(started.elapsed()));
}

/// `--load-probe`: one token from a model that is not loaded. It costs a
/// load (and maybe an eviction); a 1 s keep-alive frees it soon after.
#[must_use]
pub fn load_probe(s: &Settings, model: &str) -> E2e {
    let request = json!({
        "model": model, "prompt": "hi", "raw": true, "stream": true,
        "options": { "num_predict": 1 }, "keep_alive": "1s",
    });
    let deadline = || {
        s.left()
            .saturating_sub(Duration::from_millis(1500))
            .max(Duration::from_millis(200))
    };
    let probe = e2e(&s.target, model, request, false, deadline());
    if !unsupported(&probe) {
        return probe;
    }
    // An embedding model: the load is seen through /api/embed.
    let request = json!({ "model": model, "input": "hi", "keep_alive": "1s" });
    e2e(&s.target, model, request, true, deadline())
}
