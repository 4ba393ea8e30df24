//! The answers of `/api/generate` (`api.GenerateResponse`) and `/api/chat`
//! (`api.ChatResponse`), fields in Ollama's order, zero durations and
//! counts omitted as Go's `omitempty` does.

use serde::Serialize;
use std::time::SystemTime;

/// Which endpoint is answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Generate,
    Chat,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `api.Metrics`: integer nanoseconds and counts, on the final chunk only.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Metrics {
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

#[derive(Serialize)]
struct GenerateChunk<'a> {
    model: &'a str,
    created_at: String,
    response: &'a str,
    done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    done_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<&'a [u64]>,
    #[serde(flatten)]
    metrics: &'a Metrics,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct ChatChunk<'a> {
    model: &'a str,
    created_at: String,
    message: Message<'a>,
    done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    done_reason: Option<&'a str>,
    #[serde(flatten)]
    metrics: &'a Metrics,
}

/// `created_at`: RFC3339Nano in UTC.
#[must_use]
pub fn now_utc() -> String {
    crate::timefmt::rfc3339_nano(SystemTime::now(), 0)
}

/// How the final chunk ends.
#[derive(Debug, Default)]
pub struct Ending<'a> {
    pub reason: &'a str,
    /// Generate only, and not in raw mode.
    pub context: Option<&'a [u64]>,
    pub metrics: Metrics,
}

impl Kind {
    /// The word in `"x" does not support generate|chat`.
    #[must_use]
    pub fn verb(self) -> &'static str {
        match self {
            Kind::Generate => "generate",
            Kind::Chat => "chat",
        }
    }

    fn render(self, model: &str, text: &str, ending: Option<&Ending>) -> String {
        let empty = Metrics::default();
        let metrics = ending.map_or(&empty, |e| &e.metrics);
        let done_reason = ending.map(|e| e.reason);
        let result = match self {
            Kind::Generate => serde_json::to_string(&GenerateChunk {
                model,
                created_at: now_utc(),
                response: text,
                done: ending.is_some(),
                done_reason,
                context: ending.and_then(|e| e.context),
                metrics,
            }),
            Kind::Chat => serde_json::to_string(&ChatChunk {
                model,
                created_at: now_utc(),
                message: Message {
                    role: "assistant",
                    content: text,
                },
                done: ending.is_some(),
                done_reason,
                metrics,
            }),
        };
        result.expect("chunks serialize")
    }

    /// A streamed token.
    #[must_use]
    pub fn token(self, model: &str, text: &str) -> String {
        self.render(model, text, None)
    }

    /// The last chunk (or the whole answer with `stream:false`).
    #[must_use]
    pub fn done(self, model: &str, text: &str, ending: &Ending) -> String {
        self.render(model, text, Some(ending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn tokens_have_no_reason_or_metrics() {
        let token = parse(&Kind::Generate.token("m", "Hi"));
        assert_eq!(token["response"], "Hi");
        assert_eq!(token["done"], false);
        assert!(token.get("done_reason").is_none() && token.get("eval_count").is_none());
        let chat = parse(&Kind::Chat.token("m", "Hi"));
        assert_eq!(
            chat["message"],
            json!({ "role": "assistant", "content": "Hi" })
        );
    }

    #[test]
    fn final_chunks_carry_metrics_and_omit_zeros() {
        let ending = Ending {
            reason: "length",
            context: Some(&[1, 2]),
            metrics: Metrics {
                eval_count: 3,
                eval_duration: 5,
                ..Metrics::default()
            },
        };
        let last = Kind::Generate.done("m", "", &ending);
        assert!(last.starts_with(r#"{"model":"m","created_at":""#), "{last}");
        let last = parse(&last);
        assert_eq!(
            (&last["done_reason"], &last["context"], &last["eval_count"]),
            (&json!("length"), &json!([1, 2]), &json!(3))
        );
        assert!(last.get("load_duration").is_none(), "{last}");
        let chat = parse(&Kind::Chat.done("m", "", &ending));
        assert!(chat.get("context").is_none(), "{chat}");
    }
}
