//! The default form: take the name's lock, decide, record, maybe restart.
//!
//! Durability order, so that a SIGKILL at any instant never lets the budget
//! be exceeded: lock -> load -> decide -> save the attempt (and a `pending`
//! marker) -> run CMD -> append+fsync the audit line -> save the outcome.
//! A restart that may have happened therefore always counts. The audit line
//! follows CMD rather than preceding it so that each decision is one line
//! carrying its outcome (200 runs, 200 lines); the durable record before CMD
//! is the saved attempt. If the guard dies in between, the next run finds
//! the marker and writes the missing line (decision `failed`, outcome
//! unknown, the dead run's pid), unless the dead run got as far as writing it.

use crate::audit::{self, Decision, Record};
use crate::cli::GuardArgs;
use crate::policy::{self, Policy, Verdict};
use crate::store::{GuardState, LastOutcome, Pending, PolicySnapshot};
use crate::{exec, notify, recover, render};
use anyhow::Context as _;
use selfheal_core::clock::Stamp;
use selfheal_core::state::{Loaded, LockError, LockWait, StateLock, StateStore};
use selfheal_core::{Outcome, Report};
use std::path::PathBuf;

/// One invocation's fixed inputs.
pub struct Ctx<'a> {
    pub args: &'a GuardArgs,
    pub name: &'a str,
    pub policy: Policy,
    /// `None` only for a dry run with no state directory yet: a dry run
    /// must not even create it.
    pub store: Option<StateStore>,
    pub audit: PathBuf,
}

#[must_use]
pub fn run(args: &GuardArgs) -> Outcome {
    let report = guard(args)
        .unwrap_or_else(|err| selfheal_core::cli::unknown_report(render::base_report(), &err));
    crate::render::outcome(report, &args.output)
}

fn guard(args: &GuardArgs) -> anyhow::Result<Report> {
    let ctx = Ctx::new(args)?;
    if args.dry_run {
        return ctx.dry_run();
    }
    let wait = args.wait.map_or(LockWait::No, LockWait::Upto);
    let store = ctx.store.as_ref().context("no state directory")?;
    let lock = match store.lock(ctx.name, wait) {
        Ok(lock) => lock,
        Err(LockError::Busy) => return ctx.held_lock(store),
        Err(LockError::Io(err)) => return Err(err.into()),
    };
    let mut state = ctx.load(&lock)?;
    recover::pending(&ctx, &mut state)?;
    let now = Stamp::now();
    state.policy = Some(PolicySnapshot::from(&ctx.policy));
    match policy::decide(&state, &now, &ctx.policy).verdict {
        Verdict::Allow => ctx.restart(lock, state, &now),
        Verdict::Cooldown => ctx.held(lock, state, &now, Decision::HeldCooldown),
        Verdict::Budget => ctx.held(lock, state, &now, Decision::HeldBudget),
    }
}

impl<'a> Ctx<'a> {
    fn new(args: &'a GuardArgs) -> anyhow::Result<Self> {
        let name = args.name.as_deref().context("--name is required")?;
        selfheal_core::state::validate_name(name).map_err(anyhow::Error::msg)?;
        let policy = policy_from(&args.policy)?;
        crate::preflight::check(args)?;
        let dir = args.files.guard_dir();
        let store = if args.dry_run && !dir.exists() {
            None
        } else {
            Some(StateStore::open(&dir)?)
        };
        let audit = args.files.audit_path();
        Ok(Ctx {
            args,
            name,
            policy,
            store,
            audit,
        })
    }

    /// Loads state; a corrupt file (set aside by the store) is rebuilt from
    /// the audit log so that the budget is not silently reset.
    fn load(&self, lock: &StateLock) -> anyhow::Result<GuardState> {
        Ok(match lock.load::<GuardState>()? {
            Loaded::Found(state) => state,
            Loaded::Missing => GuardState::default(),
            Loaded::SetAside { note } => {
                // Library code never prints; until the report carries it, the
                // note goes where the rebuild's own warning goes.
                eprintln!("restart-guard: warning: {note}");
                recover::from_audit(self, &Stamp::now())?
            }
        })
    }

    fn restart(
        &self,
        lock: StateLock,
        mut state: GuardState,
        now: &Stamp,
    ) -> anyhow::Result<Report> {
        self.begin(&lock, &mut state, now)?;
        let attempt = exec::attempt(self.args, &notify::env(self, &state, now, None));
        state.pending = None;
        let record = self.attempt_record(&attempt, now, &state);
        self.finish(&lock, &mut state, now, &record)?;
        let failed = matches!(attempt.decision, Decision::Failed | Decision::VerifyFailed);
        let exhausted = policy::decide(&state, now, &self.policy).verdict == Verdict::Budget;
        let escalation = if failed && exhausted {
            self.escalate(lock, &mut state, now, attempt.decision)?
        } else {
            None
        };
        Ok(render::decision_report(
            self, &record, &state, now, escalation,
        ))
    }

    /// Saves the attempt, durably, before CMD may start; first makes sure
    /// the audit log can be written, so CMD never runs without a record.
    fn begin(&self, lock: &StateLock, state: &mut GuardState, now: &Stamp) -> anyhow::Result<()> {
        audit::check_writable(&self.audit)?;
        policy::record_attempt(state, now, &self.policy);
        // A restart ends an exhaustion: the next one escalates afresh.
        state.escalated_at = None;
        state.pending = Some(Pending {
            started: now.clone(),
            pid: std::process::id(),
            reason: self.args.reason.clone(),
        });
        lock.save(state)
            .context("cannot record the attempt; CMD not run")?;
        Ok(())
    }

    fn attempt_record(&self, attempt: &exec::Attempt, now: &Stamp, state: &GuardState) -> Record {
        let mut record = self.record(attempt.decision, now, state);
        record.exit_status = attempt.exit_status;
        record.outcome = Some(attempt.outcome.clone());
        record.duration_seconds = Some(attempt.duration.as_secs_f64());
        let argv = self
            .args
            .command
            .iter()
            .map(|a| a.to_string_lossy().into_owned());
        record.command = Some(argv.collect());
        record
    }

    fn held(
        &self,
        lock: StateLock,
        mut state: GuardState,
        now: &Stamp,
        decision: Decision,
    ) -> anyhow::Result<Report> {
        let record = self.record(decision, now, &state);
        self.finish(&lock, &mut state, now, &record)?;
        let escalation = if decision == Decision::HeldBudget {
            self.escalate(lock, &mut state, now, decision)?
        } else {
            None
        };
        Ok(render::decision_report(
            self, &record, &state, now, escalation,
        ))
    }

    /// Appends the decision's audit line, then saves the counted outcome.
    fn finish(
        &self,
        lock: &StateLock,
        state: &mut GuardState,
        now: &Stamp,
        record: &Record,
    ) -> anyhow::Result<()> {
        audit::append(&self.audit, record)?;
        state.count(record.decision);
        if record.outcome.is_some() {
            state.last_outcome = Some(LastOutcome {
                decision: record.decision,
                at: now.clone(),
                outcome: record.outcome.clone().unwrap_or_default(),
            });
        }
        lock.save(state)?;
        Ok(())
    }

    /// Calls the notifier if one is configured and due. The call is saved as
    /// made before it runs: a notifier that may have run counts, so a crash
    /// can cost one notification but never cause a storm of them. The lock is
    /// released first; runs queued behind it see the call and hold off.
    fn escalate(
        &self,
        lock: StateLock,
        state: &mut GuardState,
        now: &Stamp,
        trigger: Decision,
    ) -> anyhow::Result<Option<String>> {
        let Some(notifier) = &self.args.escalation.on_exhausted else {
            return Ok(Some("no --on-exhausted notifier".into()));
        };
        if !policy::escalation_due(state, now, self.args.escalation.escalate_every) {
            return Ok(Some(render::escalated_ago(state, now)));
        }
        state.escalated_at = Some(now.clone());
        state.count(Decision::Escalated);
        lock.save(state)?;
        drop(lock);
        let ran = notify::call(self, notifier, state, now, trigger);
        let mut record = self.record(Decision::Escalated, now, state);
        record.exit_status = ran.exit_status;
        record.outcome = Some(ran.outcome.clone());
        record.duration_seconds = Some(ran.duration.as_secs_f64());
        audit::append(&self.audit, &record)?;
        Ok(Some(if ran.ok {
            "escalated".into()
        } else {
            format!("escalation notifier failed: {}", ran.outcome)
        }))
    }

    fn held_lock(&self, store: &StateStore) -> anyhow::Result<Report> {
        // The state file is always whole (replaced by rename): peek for numbers.
        let state = store
            .peek::<GuardState>(self.name)
            .ok()
            .flatten()
            .unwrap_or_default();
        let now = Stamp::now();
        let mut record = self.record(Decision::HeldLock, &now, &state);
        record.next_allowed = None;
        record.next_allowed_unix = None;
        audit::append(&self.audit, &record)?;
        Ok(render::decision_report(self, &record, &state, &now, None))
    }

    fn dry_run(&self) -> anyhow::Result<Report> {
        let state = match &self.store {
            Some(store) => store.peek::<GuardState>(self.name)?.unwrap_or_default(),
            None => GuardState::default(),
        };
        let now = Stamp::now();
        let decision = match policy::decide(&state, &now, &self.policy).verdict {
            Verdict::Allow => Decision::Restarted,
            Verdict::Cooldown => Decision::HeldCooldown,
            Verdict::Budget => Decision::HeldBudget,
        };
        let mut record = self.record(decision, &now, &state);
        record.dry_run = true;
        Ok(render::decision_report(self, &record, &state, &now, None))
    }

    /// The audit record of `decision` made at `now`, with the window as the
    /// state now stands.
    #[must_use]
    pub fn record(&self, decision: Decision, now: &Stamp, state: &GuardState) -> Record {
        let next = policy::decide(state, now, &self.policy);
        let next_unix = now.unix_after(next.wait);
        Record {
            time: now.rfc3339(),
            unix: now.unix,
            boot_id: now.boot_id.clone(),
            uptime: now.uptime,
            name: self.name.to_owned(),
            decision,
            reason: self.args.reason.clone(),
            exit_status: None,
            outcome: None,
            duration_seconds: None,
            restarts_in_window: next.in_window,
            max: self.policy.max,
            window_seconds: self.policy.per.as_secs_f64(),
            next_allowed: Some(selfheal_core::clock::rfc3339(next_unix)),
            next_allowed_unix: Some(next_unix),
            command: None,
            dry_run: false,
            pid: std::process::id(),
        }
    }
}

/// Validates the policy flags into a [`Policy`].
fn policy_from(args: &crate::cli::PolicyArgs) -> anyhow::Result<Policy> {
    use selfheal_core::duration::human;
    if args.per.is_zero() {
        anyhow::bail!("--per must be longer than 0s: it is the window the budget applies to");
    }
    if let Some(cap) = args.backoff_max {
        if args.cooldown.is_zero() {
            anyhow::bail!("--backoff-max needs a --cooldown above 0s to double from");
        }
        if cap < args.cooldown {
            anyhow::bail!(
                "--backoff-max ({}) must be at least --cooldown ({})",
                human(cap),
                human(args.cooldown)
            );
        }
    }
    let reset = args
        .backoff_reset
        .or(args.backoff_max.map(|cap| cap * 2))
        .unwrap_or(args.cooldown);
    Ok(Policy {
        max: args.max,
        per: args.per,
        cooldown: args.cooldown,
        backoff_max: args.backoff_max,
        backoff_reset: reset,
    })
}
