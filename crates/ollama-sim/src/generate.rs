//! `POST /api/generate`: validation and errors with Ollama's status codes and
//! texts, the empty-prompt load and unload cases, then a completion relayed
//! from the runner as NDJSON (or one object with `stream:false`). Headers go
//! out with the first token, so a request waiting on a load or a wedged
//! runner holds an accepted socket with zero bytes, as the real one does.

use crate::compute::prompt_tokens;
use crate::http::{NDJSON, Out};
use crate::keepalive::{self, KeepAlive};
use crate::runners::{self, Event};
use crate::sched::{Attached, Sim};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io;
use std::time::{Instant, SystemTime};

#[derive(Debug, Deserialize)]
pub struct GenerateRequest {
    pub model: Option<String>,
    #[serde(default)]
    pub prompt: String,
    pub stream: Option<bool>,
    #[serde(default)]
    pub raw: bool,
    pub keep_alive: Option<Value>,
    #[serde(default)]
    pub options: Map<String, Value>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `api.GenerateResponse` with Go's `omitempty` where it has it.
#[derive(Debug, Default, Serialize)]
pub struct Chunk<'a> {
    pub model: &'a str,
    pub created_at: String,
    pub response: &'a str,
    pub done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<u64>>,
    #[serde(skip_serializing_if = "is_zero")]
    pub total_duration: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub load_duration: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub prompt_eval_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub prompt_eval_duration: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub eval_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub eval_duration: u64,
}

#[must_use]
pub fn now_utc() -> String {
    crate::timefmt::rfc3339_nano(SystemTime::now(), 0)
}

/// Go's JSON decoding errors, close enough for a client to show.
pub fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("missing request body".into());
    }
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

fn option_i64(options: &Map<String, Value>, key: &str) -> Option<i64> {
    options.get(key).and_then(Value::as_i64)
}

pub const RUNNER_STOPPED: &str = "model runner has unexpectedly stopped, this may be due to resource limitations or an internal error, check ollama server logs for details";

pub fn handle(sim: &Sim, body: &[u8], out: &mut Out) -> io::Result<()> {
    let started = Instant::now();
    let request: GenerateRequest = match parse_body(body) {
        Ok(r) => r,
        Err(msg) => return out.error(400, &msg),
    };
    let keep_alive = match keepalive::parse(request.keep_alive.as_ref()) {
        Ok(k) => k,
        Err(msg) => return out.error(400, &msg),
    };
    let Some(model) = request.model.clone().filter(|m| !m.is_empty()) else {
        return out.error(400, "model is required");
    };
    let Some(spec) = sim.find(&model).cloned() else {
        return out.error(404, &format!("model '{model}' not found"));
    };
    let done = |reason| Chunk {
        model: &model,
        created_at: now_utc(),
        done: true,
        done_reason: Some(reason),
        ..Chunk::default()
    };
    if request.prompt.is_empty() && keep_alive.is_some_and(KeepAlive::is_zero) {
        sim.expire(&spec.name);
        return send_one(out, &done("unload"));
    }
    if spec.embedding {
        return out.error(400, &format!("{model:?} does not support generate"));
    }
    let num_ctx = option_i64(&request.options, "num_ctx").map(|n| n.max(1) as u32);
    let attached = match sim.acquire(&spec, keep_alive, num_ctx, true) {
        Ok(a) => a,
        Err((status, msg)) => return out.error(status, &msg),
    };
    if request.prompt.is_empty() {
        sim.release(&attached);
        return send_one(out, &done("load"));
    }
    let relay = Relay {
        sim,
        attached: &attached,
        request: &request,
        model: &model,
        started,
    };
    let result = relay.run(out);
    sim.release(&attached);
    result
}

struct Relay<'a> {
    sim: &'a Sim,
    attached: &'a Attached,
    request: &'a GenerateRequest,
    model: &'a str,
    started: Instant,
}

impl Relay<'_> {
    fn run(&self, out: &mut Out) -> io::Result<()> {
        let load_ns = self.started.elapsed().as_nanos() as u64;
        let streaming = self.request.stream.unwrap_or(true);
        let n_predict = option_i64(&self.request.options, "num_predict").unwrap_or(-1);
        let prompt_tokens = prompt_tokens(&self.request.prompt);
        let token_ms = self.sim.cfg.token_time.as_millis() as u64;
        let Ok(mut stream) =
            runners::complete(self.attached.port, prompt_tokens, n_predict, token_ms)
        else {
            return out.error(500, RUNNER_STOPPED);
        };
        let mut text = String::new();
        let mut headers_sent = false;
        loop {
            match stream.next_event() {
                Ok(Event::Token(token)) if streaming => {
                    if !headers_sent {
                        out.start_chunked(200, NDJSON)?;
                        headers_sent = true;
                    }
                    let chunk = Chunk {
                        model: self.model,
                        created_at: now_utc(),
                        response: &token,
                        ..Chunk::default()
                    };
                    out.chunk(ndjson_line(&chunk).as_bytes())?;
                }
                Ok(Event::Token(token)) => text.push_str(&token),
                Ok(done) => {
                    let last = self.final_chunk(&done, &text, load_ns);
                    if !streaming {
                        return send_one(out, &last);
                    }
                    if !headers_sent {
                        out.start_chunked(200, NDJSON)?;
                    }
                    out.chunk(ndjson_line(&last).as_bytes())?;
                    return out.end_chunked();
                }
                Err(_) if headers_sent => {
                    let line = serde_json::json!({ "error": "an error was encountered while running the model: unexpected EOF" });
                    out.chunk(format!("{line}\n").as_bytes())?;
                    return out.end_chunked();
                }
                Err(_) => return out.error(500, RUNNER_STOPPED),
            }
        }
    }

    fn final_chunk<'b>(&'b self, done: &Event, text: &'b str, load_ns: u64) -> Chunk<'b> {
        let Event::Done {
            eval_count,
            prompt_eval_count,
            prompt_eval_ns,
            eval_ns,
            limit,
        } = *done
        else {
            unreachable!("final_chunk takes the Done event");
        };
        let context = (!self.request.raw).then(|| {
            (0..prompt_eval_count + eval_count)
                .map(|i| 128_000 + i * 7 % 1000)
                .collect()
        });
        Chunk {
            model: self.model,
            created_at: now_utc(),
            response: text,
            done: true,
            done_reason: Some(if limit { "length" } else { "stop" }),
            context,
            total_duration: self.started.elapsed().as_nanos() as u64,
            load_duration: load_ns,
            prompt_eval_count,
            prompt_eval_duration: prompt_eval_ns,
            eval_count,
            eval_duration: eval_ns,
        }
    }
}

/// One JSON object, fields in Ollama's order.
fn send_one(out: &mut Out, chunk: &Chunk) -> io::Result<()> {
    let body = serde_json::to_string(chunk).expect("chunk serializes");
    out.respond(200, crate::http::JSON, body.as_bytes())
}

fn ndjson_line(chunk: &Chunk) -> String {
    let mut line = serde_json::to_string(chunk).expect("chunk serializes");
    line.push('\n');
    line
}
