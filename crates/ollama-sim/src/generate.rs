//! `POST /api/generate` and `POST /api/chat`: validation and errors with
//! Ollama's status codes and texts, the empty-prompt (or empty-messages)
//! load and unload cases, then a completion relayed from the runner as
//! NDJSON (or one object with `stream:false`). Headers go out with the
//! first token, so a request waiting on a load or a wedged runner holds an
//! accepted socket with zero bytes, as the real one does.

use crate::chunks::{Ending, Kind, Metrics};
use crate::compute::prompt_tokens;
use crate::http::{JSON, NDJSON, Out};
use crate::keepalive::{self, KeepAlive};
use crate::runners::{self, Event};
use crate::sched::{Attached, Sim};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::io;
use std::time::Instant;

#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    #[serde(default)]
    pub content: String,
}

/// The fields of `GenerateRequest` and `ChatRequest` the simulator uses.
#[derive(Debug, Deserialize)]
pub struct CompletionRequest {
    pub model: Option<String>,
    #[serde(default)]
    pub prompt: String,
    #[serde(default)]
    pub messages: Vec<ChatMessage>,
    pub stream: Option<bool>,
    #[serde(default)]
    pub raw: bool,
    pub keep_alive: Option<Value>,
    #[serde(default)]
    pub options: Map<String, Value>,
}

impl CompletionRequest {
    fn text(&self, kind: Kind) -> String {
        match kind {
            Kind::Generate => self.prompt.clone(),
            Kind::Chat => self
                .messages
                .iter()
                .map(|m| m.content.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// No prompt (generate) or no messages (chat): a load or unload request.
    fn is_empty(&self, kind: Kind) -> bool {
        match kind {
            Kind::Generate => self.prompt.is_empty(),
            Kind::Chat => self.messages.is_empty(),
        }
    }
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

fn send_one(out: &mut Out, body: &str) -> io::Result<()> {
    out.respond(200, JSON, body.as_bytes())
}

pub fn handle(sim: &Sim, kind: Kind, body: &[u8], out: &mut Out) -> io::Result<()> {
    let started = Instant::now();
    let request: CompletionRequest = match parse_body(body) {
        Ok(r) => r,
        Err(msg) => return out.error(400, &msg),
    };
    let keep_alive = match keepalive::parse(request.keep_alive.as_ref()) {
        Ok(k) => k,
        Err(msg) => return out.error(400, &msg),
    };
    let model = request.model.clone().unwrap_or_default();
    let Some(spec) = sim.find(&model).cloned() else {
        return out.error(404, &format!("model '{model}' not found"));
    };
    let empty = request.is_empty(kind);
    if empty && keep_alive.is_some_and(KeepAlive::is_zero) {
        sim.expire(&spec.name);
        return send_one(
            out,
            &kind.done(
                &model,
                "",
                &Ending {
                    reason: "unload",
                    ..Ending::default()
                },
            ),
        );
    }
    if spec.embedding {
        return out.error(400, &format!("{model:?} does not support {}", kind.verb()));
    }
    let num_ctx = option_i64(&request.options, "num_ctx").map(|n| n.max(1) as u32);
    let attached = match sim.acquire(&spec, keep_alive, num_ctx, true) {
        Ok(a) => a,
        Err((status, msg)) => return out.error(status, &msg),
    };
    let result = if empty {
        send_one(
            out,
            &kind.done(
                &model,
                "",
                &Ending {
                    reason: "load",
                    ..Ending::default()
                },
            ),
        )
    } else {
        let relay = Relay {
            sim,
            kind,
            attached: &attached,
            request: &request,
            model: &model,
            started,
        };
        relay.run(out)
    };
    sim.release(&attached);
    result
}

struct Relay<'a> {
    sim: &'a Sim,
    kind: Kind,
    attached: &'a Attached,
    request: &'a CompletionRequest,
    model: &'a str,
    started: Instant,
}

impl Relay<'_> {
    fn run(&self, out: &mut Out) -> io::Result<()> {
        let load_ns = self.started.elapsed().as_nanos() as u64;
        let streaming = self.request.stream.unwrap_or(true);
        let n_predict = option_i64(&self.request.options, "num_predict").unwrap_or(-1);
        let prompt_tokens = prompt_tokens(&self.request.text(self.kind));
        let token_ms = self.sim.cfg.token_time.as_millis() as u64;
        let Ok(mut stream) =
            runners::complete(self.attached.port, prompt_tokens, n_predict, token_ms)
        else {
            return error_before_content(self.sim, out, streaming);
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
                    out.chunk(format!("{}\n", self.kind.token(self.model, &token)).as_bytes())?;
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
                    out.chunk(format!("{last}\n").as_bytes())?;
                    return out.end_chunked();
                }
                Err(_) if headers_sent => {
                    let line = serde_json::json!({ "error": "an error was encountered while running the model: unexpected EOF" });
                    out.chunk(format!("{line}\n").as_bytes())?;
                    return out.end_chunked();
                }
                Err(_) => return error_before_content(self.sim, out, streaming),
            }
        }
    }

    fn final_chunk(&self, done: &Event, text: &str, load_ns: u64) -> String {
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
        let context: Option<Vec<u64>> =
            (self.kind == Kind::Generate && !self.request.raw).then(|| {
                (0..prompt_eval_count + eval_count)
                    .map(|i| 128_000 + i * 7 % 1000)
                    .collect()
            });
        let ending = Ending {
            reason: if limit { "length" } else { "stop" },
            context: context.as_deref(),
            metrics: Metrics {
                total_duration: self.started.elapsed().as_nanos() as u64,
                load_duration: load_ns,
                prompt_eval_count,
                prompt_eval_duration: prompt_eval_ns,
                eval_count,
                eval_duration: eval_ns,
            },
        };
        self.kind.done(self.model, text, &ending)
    }
}

/// The runner went away before answering: `streamResponse` sends a plain
/// JSON error (content type `application/json`) when nothing was written.
fn error_before_content(sim: &Sim, out: &mut Out, streaming: bool) -> io::Result<()> {
    sim.log.slog(
        "ERROR",
        "llama_server.go:1639",
        "llama-server completion error",
        &[("error", "EOF")],
    );
    if !streaming {
        return out.error(500, RUNNER_STOPPED);
    }
    let body = serde_json::json!({ "error": RUNNER_STOPPED }).to_string();
    out.respond(500, "application/json", body.as_bytes())
}
