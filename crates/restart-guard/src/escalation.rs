//! An escalation's life: opened when the --on-exhausted notifier is called,
//! resolved when a verified restart or a `reset` follows it, which calls
//! --on-recovered once, so a pager can close the incident it opened. Both
//! notifiers get the same `SELFHEAL_DEDUP_KEY` (host and name, no counts
//! or times), the key PagerDuty-like services group alerts by.

use crate::audit::{Decision, Record, Window};
use crate::cli::Argv;
use crate::exec;
use crate::history::History;
use crate::invocation::Invocation;
use selfheal_core::audit::AuditLog;
use selfheal_core::clock::Stamp;
use selfheal_core::state::StateLock;
use std::ffi::OsString;
use std::time::Duration;

/// Longest dedup key: PagerDuty's Events API takes at most 255 characters.
pub const MAX_DEDUP_KEY: usize = 254;

/// Records that the notifier is being called at `now`.
pub fn opened(history: &mut History, now: &Stamp, every: Duration) {
    history.open_escalation.get_or_insert_with(|| now.clone());
    history.last_escalation = Some(now.clone());
    history.escalate_every_seconds = Some(every.as_secs_f64());
}

/// `selfheal/restart-guard/HOST/NAME`: the same for every notification
/// about one name on one host, whatever the counts or times. A key that
/// would be too long keeps its start and ends in a hash of the whole.
#[must_use]
pub fn dedup_key(name: &str) -> String {
    let host = rustix::system::uname();
    key_of(&host.nodename().to_string_lossy(), name)
}

fn key_of(host: &str, name: &str) -> String {
    let key = format!("selfheal/restart-guard/{host}/{name}");
    if key.len() <= MAX_DEDUP_KEY {
        return key;
    }
    let hash = format!("#{:016x}", fnv1a(key.as_bytes()));
    let mut cut = MAX_DEDUP_KEY - hash.len();
    while !key.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{hash}", &key[..cut])
}

/// FNV-1a, 64 bits: stable across versions and platforms, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Who resolves an escalation, and how to tell the pager.
pub struct Resolution<'a> {
    pub name: &'a str,
    /// `verified` or `reset`.
    pub by: Decision,
    pub reason: &'a str,
    pub notifier: Option<&'a Argv>,
    pub timeout: Duration,
    pub audit: &'a AuditLog,
}

impl<'a> Resolution<'a> {
    /// A verified restart by the default form.
    #[must_use]
    pub fn after_restart(inv: &'a Invocation) -> Self {
        Resolution {
            name: inv.name,
            by: Decision::Verified,
            reason: &inv.args.reason,
            notifier: inv.args.escalation.on_recovered.as_ref(),
            timeout: inv.args.escalation.notify_timeout,
            audit: &inv.audit,
        }
    }
}

/// Ends an open escalation after a verified restart or a reset: saved as
/// resolved before --on-recovered runs (a crash may cost that call, never
/// repeat it), the lock released, the notifier run, a `recovered` line
/// written. Returns what to add to the summary; `None` when nothing was open.
pub fn resolve(
    how: &Resolution,
    lock: StateLock,
    history: &mut History,
    now: &Stamp,
    window: Window,
) -> anyhow::Result<Option<String>> {
    let Some(opened) = history.open_escalation.take() else {
        return Ok(None);
    };
    history.count(Decision::Recovered);
    lock.save(history)?;
    drop(lock);
    let mut record = Record::new(how.name, Decision::Recovered, now, window);
    how.reason.clone_into(&mut record.reason);
    let note = if let Some(notifier) = how.notifier {
        let argv = notifier.0.iter().map(OsString::from).collect();
        let ran = exec::run(argv, how.timeout, &env(how, &opened), None);
        record.exit_status = ran.exit_status;
        record.duration_seconds = Some(ran.duration.as_secs_f64());
        record.outcome = Some(ran.outcome.clone());
        if ran.ok {
            "escalation resolved (--on-recovered called)".to_owned()
        } else {
            format!(
                "escalation resolved, but --on-recovered failed: {}",
                ran.outcome
            )
        }
    } else {
        record.outcome = Some("no --on-recovered notifier".into());
        "escalation resolved (no --on-recovered notifier)".to_owned()
    };
    how.audit.append(&record)?;
    Ok(Some(note))
}

fn env(how: &Resolution, opened: &Stamp) -> Vec<(OsString, OsString)> {
    [
        ("SELFHEAL_NAME", how.name.to_owned()),
        ("SELFHEAL_DECISION", Decision::Recovered.as_str().to_owned()),
        ("SELFHEAL_RESOLVED_BY", how.by.as_str().to_owned()),
        ("SELFHEAL_REASON", how.reason.to_owned()),
        ("SELFHEAL_ESCALATED_AT", opened.rfc3339()),
        ("SELFHEAL_DEDUP_KEY", dedup_key(how.name)),
        ("SELFHEAL_AUDIT", how.audit.path().display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (OsString::from(k), OsString::from(v)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dedup_key_is_stable_and_short_enough() {
        let key = dedup_key("ollama");
        assert!(key.starts_with("selfheal/restart-guard/"), "{key}");
        assert!(key.ends_with("/ollama"), "{key}");
        assert_eq!(key, dedup_key("ollama"));
        // Linux allows 64-character host names and we allow 200-character names.
        let (host, long) = ("h".repeat(64), "n".repeat(200));
        let (a, b) = (key_of(&host, &long), key_of(&host, &format!("{long}x")));
        assert!(a.len() <= MAX_DEDUP_KEY && b.len() <= MAX_DEDUP_KEY, "{a}");
        assert_ne!(a, b, "keys of different names must differ");
        assert_eq!(a, key_of(&host, &long));
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
