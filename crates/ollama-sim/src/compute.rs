//! A runner's compute loop, shaped like llama-server's: one thread takes
//! tasks from a queue (completions, `/slots` metrics, embeddings) and decodes
//! one token per turn for its single slot. A wedged loop therefore hangs
//! completions and `/slots` while `/health`, answered by the HTTP threads,
//! stays fine.

use serde_json::json;
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the server made this runner misbehave with.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct RunnerFaults {
    /// The compute loop stops turning (S1).
    pub wedge: bool,
    /// Ignore `n_predict` and the end of the text: stream forever (S3).
    pub runaway: bool,
    /// Exit with status 2 after this many tokens of a completion (S4).
    pub die_after: Option<u32>,
    /// Multiply the time per token (CPU fallback is 10x slower).
    pub slowdown: u32,
}

pub struct Completion {
    pub prompt_tokens: u32,
    /// Negative: until the text ends.
    pub n_predict: i64,
    pub token_time: Duration,
    /// Server-sent event payloads, one per token, then the final one.
    pub events: Sender<String>,
}

pub enum Task {
    Slots(Sender<String>),
    Complete(Completion),
}

const TEXT: &str = "The sky appears blue because the molecules of the air scatter the short \
blue wavelengths of sunlight much more than the long red ones, so blue light reaches our \
eyes from every direction.";

struct Active {
    job: Completion,
    task_id: i64,
    decoded: u32,
    started: Instant,
    prompt_ms: f64,
}

pub struct Compute {
    pub faults: Arc<Mutex<RunnerFaults>>,
    pub n_ctx: u32,
}

impl Compute {
    fn faults(&self) -> RunnerFaults {
        *self.faults.lock().expect("faults lock")
    }

    /// Runs forever on its own thread.
    pub fn run(&self, tasks: &Receiver<Task>) {
        let mut slot: Option<Active> = None;
        let mut queue: VecDeque<Completion> = VecDeque::new();
        let mut next_id = 0;
        loop {
            let first = if slot.is_none() && queue.is_empty() {
                tasks.recv_timeout(Duration::from_millis(50)).ok()
            } else {
                tasks.try_recv().ok()
            };
            // Only tasks taken before the wedge check run this turn; a wedged
            // loop leaves them, including /slots metrics, waiting forever.
            let taken: Vec<Task> = first.into_iter().chain(tasks.try_iter()).collect();
            while self.faults().wedge {
                std::thread::sleep(Duration::from_millis(20));
            }
            for task in taken {
                match task {
                    Task::Slots(reply) => drop(reply.send(self.slots_json(slot.as_ref()))),
                    Task::Complete(job) => queue.push_back(job),
                }
            }
            if slot.is_none()
                && let Some(job) = queue.pop_front()
            {
                next_id += 1;
                slot = Some(self.start(job, next_id));
            }
            if let Some(active) = slot.as_mut()
                && !self.step(active)
            {
                slot = None;
            }
        }
    }

    fn start(&self, job: Completion, task_id: i64) -> Active {
        if self.faults().die_after == Some(0) {
            std::process::exit(2);
        }
        let started = Instant::now();
        std::thread::sleep(Duration::from_micros(
            100 * u64::from(job.prompt_tokens.max(10)),
        ));
        Active {
            prompt_ms: started.elapsed().as_secs_f64() * 1000.0,
            job,
            task_id,
            decoded: 0,
            started: Instant::now(),
        }
    }

    /// Decodes one token; false when the slot is free again.
    fn step(&self, active: &mut Active) -> bool {
        let faults = self.faults();
        let words: Vec<&str> = TEXT.split(' ').collect();
        let limit_reached =
            active.job.n_predict >= 0 && i64::from(active.decoded) >= active.job.n_predict;
        // With a num_predict the text repeats up to it; without one it ends (EOS).
        let text_ended = active.job.n_predict < 0 && active.decoded as usize >= words.len();
        if !faults.runaway && (limit_reached || text_ended) {
            let final_event = json!({
                "content": "", "stop": true,
                "stop_type": if limit_reached { "limit" } else { "eos" },
                "tokens_predicted": active.decoded,
                "tokens_evaluated": active.job.prompt_tokens,
                "timings": {
                    "prompt_n": active.job.prompt_tokens,
                    "prompt_ms": active.prompt_ms,
                    "predicted_n": active.decoded,
                    "predicted_ms": active.started.elapsed().as_secs_f64() * 1000.0,
                },
            });
            let _ = active.job.events.send(final_event.to_string());
            return false;
        }
        std::thread::sleep(active.job.token_time * faults.slowdown.max(1));
        let word = words[active.decoded as usize % words.len()];
        let content = if active.decoded == 0 {
            word.to_string()
        } else {
            format!(" {word}")
        };
        active.decoded += 1;
        if faults.die_after.is_some_and(|n| active.decoded > n) {
            std::process::exit(2);
        }
        let event = json!({ "content": content, "stop": false });
        // A closed receiver means the client went away: free the slot.
        active.job.events.send(event.to_string()).is_ok()
    }

    fn slots_json(&self, slot: Option<&Active>) -> String {
        let (task_id, decoded, busy) =
            slot.map_or((-1, 0, false), |a| (a.task_id, a.decoded, true));
        let n_remain = slot.map_or(-1, |a| {
            if a.job.n_predict < 0 {
                -1
            } else {
                a.job.n_predict - i64::from(a.decoded)
            }
        });
        json!([{
            "id": 0,
            "id_task": task_id,
            "n_ctx": self.n_ctx,
            "speculative": false,
            "is_processing": busy,
            "next_token": {
                "has_next_token": busy,
                "has_new_line": false,
                "n_remain": n_remain,
                "n_decoded": decoded,
                "stopping_word": "",
            },
        }])
        .to_string()
    }
}

/// A deterministic unit-length embedding of `text` (768 dimensions, like nomic-embed-text).
#[must_use]
pub fn embed(text: &str) -> Vec<f32> {
    let mut seed = text.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let raw: Vec<f32> = (0..768)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect();
    let norm = raw
        .iter()
        .map(|v| v * v)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    raw.into_iter().map(|v| v / norm).collect()
}

/// How many tokens a prompt counts as: its words, plus the template's few.
#[must_use]
pub fn prompt_tokens(prompt: &str) -> u32 {
    prompt.split_whitespace().count() as u32 + 10
}
