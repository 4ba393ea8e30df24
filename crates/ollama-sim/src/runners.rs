//! What the server asks of its runners over loopback HTTP: is it loaded,
//! misbehave like this, and run a completion (read back as server-sent
//! events, token by token).

use crate::client;
use crate::compute::RunnerFaults;
use serde_json::{Value, json};
use std::io;

/// Whether the runner on `port` has finished loading.
#[must_use]
pub fn ready(port: u16, old_style: bool) -> bool {
    let Ok((status, body)) = client::call(port, "GET", "/health", None) else {
        return false;
    };
    if old_style {
        let health: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        status == 200 && health["status"] == 0
    } else {
        status == 200
    }
}

/// Tells a runner which faults to act out (best effort: a stopped runner
/// cannot answer, and that is the test's point).
pub fn push_faults(port: u16, faults: RunnerFaults) {
    let body = serde_json::to_string(&faults).expect("faults serialize");
    let _ = client::call(port, "POST", "/_sim/fault", Some(&body));
}

/// One event of a completion.
#[derive(Debug)]
pub enum Event {
    Token(String),
    Done {
        eval_count: u64,
        prompt_eval_count: u64,
        prompt_eval_ns: u64,
        eval_ns: u64,
        limit: bool,
    },
}

/// A completion in progress on a runner. No timeout: a wedged or stopped
/// runner hangs the reader, as it hangs the real server.
pub struct Stream(client::Response);

pub fn complete(
    port: u16,
    prompt_tokens: u32,
    n_predict: i64,
    token_ms: u64,
) -> io::Result<Stream> {
    let body = json!({
        "prompt_tokens": prompt_tokens,
        "n_predict": n_predict,
        "token_ms": token_ms,
        "stream": true,
    });
    let response = client::request(port, "POST", "/completion", Some(&body.to_string()), None)?;
    if response.status != 200 {
        return Err(io::Error::other(format!(
            "runner answered {}",
            response.status
        )));
    }
    Ok(Stream(response))
}

fn ms_to_ns(value: &Value) -> u64 {
    (value.as_f64().unwrap_or(0.0) * 1e6) as u64
}

impl Stream {
    /// The next event; an error when the runner went away mid-stream.
    pub fn next_event(&mut self) -> io::Result<Event> {
        let line = self.0.next_line()?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::UnexpectedEof, "runner closed the stream")
        })?;
        let data = line.strip_prefix("data: ").unwrap_or(&line);
        let event: Value = serde_json::from_str(data).map_err(io::Error::other)?;
        if event["stop"] != true {
            return Ok(Event::Token(
                event["content"].as_str().unwrap_or("").to_string(),
            ));
        }
        let timings = &event["timings"];
        Ok(Event::Done {
            eval_count: event["tokens_predicted"].as_u64().unwrap_or(0),
            prompt_eval_count: event["tokens_evaluated"].as_u64().unwrap_or(0),
            prompt_eval_ns: ms_to_ns(&timings["prompt_ms"]),
            eval_ns: ms_to_ns(&timings["predicted_ms"]),
            limit: event["stop_type"] == "limit",
        })
    }
}

/// Asks the runner for embeddings of `inputs`.
pub fn embed(port: u16, inputs: &[String]) -> io::Result<Vec<Value>> {
    let body = json!({ "content": inputs }).to_string();
    let response = client::request(port, "POST", "/embedding", Some(&body), None)?;
    if response.status != 200 {
        return Err(io::Error::other(format!(
            "runner answered {}",
            response.status
        )));
    }
    let value: Value = serde_json::from_str(&response.body(64 << 20)?).map_err(io::Error::other)?;
    Ok(value["embedding"].as_array().cloned().unwrap_or_default())
}
