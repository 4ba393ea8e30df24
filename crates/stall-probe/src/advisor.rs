//! The optional second opinion: a CRITICAL verdict and its evidence are
//! sent to a local model on an Ollama server (`POST /api/generate`,
//! `format: "json"`, `stream: false`), which answers with a verdict, a
//! confidence and a reason. The advisor can only hold a CRITICAL back to
//! WARNING — unless it agrees with a confidence of at least the gate — and
//! never raise anything. Unreachable, slow or nonsensical: the
//! deterministic verdict stands, and the report says so.

use crate::source::http::{agent, read_body};
use selfheal_core::{Check, Report, Status};
use serde_json::{Value, json};
use std::time::Duration;

const MAX_ANSWER_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone, clap::Args)]
pub struct AdvisorArgs {
    /// Ask the Ollama server at URL for a second opinion on a CRITICAL (off by default)
    #[arg(
        long,
        value_name = "URL",
        env = "STALL_PROBE_ADVISOR_URL",
        requires = "advisor_model",
        help_heading = "Advisor"
    )]
    pub advisor_url: Option<String>,
    /// The model the advisor uses, e.g. llama3.2:1b
    #[arg(
        long,
        value_name = "NAME",
        env = "STALL_PROBE_ADVISOR_MODEL",
        requires = "advisor_url",
        help_heading = "Advisor"
    )]
    pub advisor_model: Option<String>,
    /// Stay at WARNING unless the advisor agrees it is critical with at least this confidence (0-1)
    #[arg(long, value_name = "CONFIDENCE", default_value_t = 0.7, value_parser = parse_gate, env = "STALL_PROBE_ADVISOR_GATE", help_heading = "Advisor")]
    pub advisor_gate: f64,
    /// Time allowed for the advisor's answer
    #[arg(long, default_value = "30s", value_parser = selfheal_core::duration::parse, env = "STALL_PROBE_ADVISOR_TIMEOUT", help_heading = "Advisor")]
    pub advisor_timeout: Duration,
}

fn parse_gate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(gate) if (0.0..=1.0).contains(&gate) => Ok(gate),
        _ => Err(format!(
            "'{text}' is not a confidence between 0 and 1 (e.g. 0.7)"
        )),
    }
}

/// What the advisor said.
#[derive(Debug, Clone, PartialEq)]
pub struct Opinion {
    pub critical: bool,
    pub confidence: f64,
    pub reason: String,
}

/// Consults the advisor when the report is CRITICAL and applies the gate.
pub fn review(args: &AdvisorArgs, report: &mut Report) {
    let (Some(url), Some(model)) = (&args.advisor_url, &args.advisor_model) else {
        return;
    };
    if report.status != Status::Critical {
        return;
    }
    let answer = ask(url, model, &evidence(report), args.advisor_timeout);
    apply(report, answer, args.advisor_gate);
}

/// Folds the advisor's answer (or why there is none) into the report.
pub fn apply(report: &mut Report, answer: Result<Opinion, String>, gate: f64) {
    let opinion = match answer {
        Ok(opinion) => opinion,
        Err(why) => {
            let line =
                format!("advisor gave no usable answer ({why}); the deterministic verdict stands");
            report
                .checks
                .push(Check::new("advisor", Status::Unknown, line.clone()));
            report.warn(line);
            crate::metrics::advisor_held_back(report, false);
            return;
        }
    };
    let said = format!(
        "advisor says {} (confidence {:.2}, gate {gate:.2}): {}",
        if opinion.critical {
            "critical"
        } else {
            "not critical"
        },
        opinion.confidence,
        opinion.reason
    );
    let held = !(opinion.critical && opinion.confidence >= gate);
    if held {
        report.status = Status::Warning;
        report.summary = format!(
            "held back from CRITICAL by the advisor: {} [{said}]",
            report.summary
        );
    } else {
        report.summary = format!("{} [{said}]", report.summary);
    }
    let status = if held {
        Status::Warning
    } else {
        Status::Critical
    };
    report.checks.push(Check::new("advisor", status, said));
    report.details.insert(
        "advisor".into(),
        json!({"critical": opinion.critical, "confidence": opinion.confidence, "reason": opinion.reason, "held_back": held}),
    );
    crate::metrics::advisor_held_back(report, held);
}

/// The report as the advisor sees it: verdict, checks, metrics, details.
fn evidence(report: &Report) -> String {
    let full: Value = serde_json::from_str(&report.to_json()).unwrap_or(Value::Null);
    json!({
        "summary": full["summary"],
        "checks": full["checks"],
        "metrics": full["metrics"],
        "details": full["details"],
    })
    .to_string()
}

fn prompt(evidence: &str) -> String {
    format!(
        "You review a monitoring probe's verdict on a worker process (is it still making progress, \
         is its CPU and memory use healthy). Its rules say CRITICAL: the worker would be restarted. \
         Judge from the evidence whether that is right. Answer only with a JSON object: \
         {{\"verdict\": \"critical\" or \"not_critical\", \"confidence\": a number from 0 to 1, \
         \"reason\": one short sentence}}.\n\nEvidence:\n{evidence}"
    )
}

fn ask(url: &str, model: &str, evidence: &str, timeout: Duration) -> Result<Opinion, String> {
    let endpoint = format!("{}/api/generate", url.trim_end_matches('/'));
    let body = json!({
        "model": model,
        "prompt": prompt(evidence),
        "format": "json",
        "stream": false,
        "options": {"temperature": 0},
    });
    let mut response = agent(timeout)
        .post(&endpoint)
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
        .map_err(|e| format!("{}: {e}", crate::source::http::redact_url(&endpoint)))?;
    if !response.status().is_success() {
        return Err(format!(
            "HTTP {} from {}",
            response.status(),
            crate::source::http::redact_url(&endpoint)
        ));
    }
    parse_answer(&read_body(&mut response, MAX_ANSWER_BYTES)?)
}

/// Ollama's reply: `{"response": "<the model's JSON as a string>", ...}`.
pub fn parse_answer(body: &str) -> Result<Opinion, String> {
    let reply: Value = serde_json::from_str(body).map_err(|e| format!("reply is not JSON: {e}"))?;
    let text = reply["response"]
        .as_str()
        .ok_or("reply has no \"response\" string")?;
    let answer: Value =
        serde_json::from_str(text).map_err(|e| format!("the model's answer is not JSON: {e}"))?;
    let critical = match answer["verdict"]
        .as_str()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("critical" | "stalled" | "agree") => true,
        Some("not_critical" | "not critical" | "ok" | "healthy" | "warning" | "disagree") => false,
        other => {
            return Err(format!(
                "the model's verdict {other:?} is neither \"critical\" nor \"not_critical\""
            ));
        }
    };
    let confidence = answer["confidence"]
        .as_f64()
        .filter(|c| (0.0..=1.0).contains(c))
        .ok_or_else(|| {
            format!(
                "the model's confidence {} is not a number from 0 to 1",
                answer["confidence"]
            )
        })?;
    let reason: String = answer["reason"]
        .as_str()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    Ok(Opinion {
        critical,
        confidence,
        reason: reason.replace('\n', " "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(answer: &str) -> String {
        json!({"model": "m", "response": answer, "done": true}).to_string()
    }

    fn critical_report() -> Report {
        let mut report = crate::TOOL.report();
        report.status = Status::Critical;
        report.summary = "BTC: last progress 20m ago".into();
        report
    }

    #[test]
    fn parses_a_well_formed_answer() {
        let opinion = parse_answer(&reply(
            r#"{"verdict":"critical","confidence":0.9,"reason":"no decisions"}"#,
        ))
        .unwrap();
        assert_eq!(
            opinion,
            Opinion {
                critical: true,
                confidence: 0.9,
                reason: "no decisions".into()
            }
        );
    }

    #[test]
    fn nonsense_is_refused_with_what_was_wrong() {
        assert!(parse_answer("<html>").unwrap_err().contains("not JSON"));
        assert!(
            parse_answer(&reply("maybe?"))
                .unwrap_err()
                .contains("answer is not JSON")
        );
        assert!(
            parse_answer(&reply(r#"{"verdict":"perhaps","confidence":0.5}"#))
                .unwrap_err()
                .contains("perhaps")
        );
        assert!(
            parse_answer(&reply(r#"{"verdict":"critical","confidence":7}"#))
                .unwrap_err()
                .contains("confidence")
        );
    }

    #[test]
    fn agreement_above_the_gate_keeps_critical_anything_else_holds_it_back() {
        let opinion = |critical, confidence| {
            Ok(Opinion {
                critical,
                confidence,
                reason: "r".into(),
            })
        };
        let mut agreed = critical_report();
        apply(&mut agreed, opinion(true, 0.8), 0.7);
        assert_eq!(agreed.status, Status::Critical);
        for (critical, confidence) in [(true, 0.5), (false, 0.95)] {
            let mut held = critical_report();
            apply(&mut held, opinion(critical, confidence), 0.7);
            assert_eq!(held.status, Status::Warning, "{critical} {confidence}");
            assert!(held.summary.starts_with("held back"), "{}", held.summary);
        }
    }

    #[test]
    fn no_answer_leaves_the_verdict_and_says_so() {
        let mut report = critical_report();
        apply(&mut report, Err("timed out".into()), 0.7);
        assert_eq!(report.status, Status::Critical);
        assert!(
            report.warnings[0].contains("timed out"),
            "{:?}",
            report.warnings
        );
    }
}
