use super::*;
use crate::api::{Generation, Loaded, Slots};
use crate::evidence::{E2e, E2eEnd, Evidence, Light, Ps, Version};
use crate::finding::Limits;
use crate::procs::{Server, View};
use std::time::Duration;

const NOW: f64 = 1_800_000_000.0;

fn light(answer: Answer, error: Option<&str>) -> Light {
    Light {
        answer,
        seconds: 0.01,
        error: error.map(str::to_owned),
    }
}

fn model(name: &str, vram: u64, expires_in: f64) -> Loaded {
    Loaded {
        name: name.into(),
        size: 1000,
        size_vram: vram,
        digest: "d".into(),
        expires_at: selfheal_core::clock::rfc3339(NOW + expires_in),
        context_length: Some(4096),
    }
}

fn runner(pid: u32) -> RunnerCheck {
    RunnerCheck {
        pid,
        port: Some(40000),
        state: 'S',
        model_blob: format!("/b/sha256-{pid}"),
        health: Some(crate::api::Health::Ok),
        health_error: None,
        slots: Some(Slots {
            total: 1,
            processing: 0,
            decoded: 0,
        }),
        slots_after: None,
        slots_hung: false,
    }
}

fn server(state: char, age_secs: f64) -> View {
    View {
        listening: Some(true),
        server: Some(Server {
            pid: 812,
            comm: "ollama".into(),
            state,
            cpu_ticks: 0,
            age_secs,
            unit: Some("ollama.service".into()),
            user_unit: false,
        }),
        runners: Vec::new(),
        orphans: Vec::new(),
    }
}

fn healthy_ev(models: Vec<Loaded>, runners: Vec<RunnerCheck>) -> Evidence {
    Evidence {
        url: "http://127.0.0.1:11434".into(),
        processes: Some(server('S', 3600.0)),
        version: Version {
            light: light(Answer::Ok, None),
            version: Some("0.33.0".into()),
        },
        ps: Some(Ps {
            light: light(Answer::Ok, None),
            models,
        }),
        ps_after: None,
        runners,
        e2e: Vec::new(),
        e2e_skipped: None,
        load_probe: None,
        hops: Vec::new(),
        log_signs: Vec::new(),
        gpu: None,
        gpu_after: None,
        durations: std::collections::BTreeMap::new(),
    }
}

fn probe(model: &str, end: E2eEnd, error: Option<&str>) -> E2e {
    E2e {
        model: model.into(),
        end,
        seconds: 5.0,
        http_status: None,
        error: error.map(str::to_owned),
        request: serde_json::json!({}),
        generation: Generation::default(),
    }
}

const LIMITS: Limits = Limits {
    freeze_after: Duration::from_secs(180),
    startup_grace: Duration::from_secs(120),
    load_timeout: Duration::from_secs(300),
    slow_after: Duration::from_secs(10),
    expect_gpu: false,
};

fn verdict_of(ev: &Evidence, progress: Option<&str>, gpu_seen: bool) -> Finding {
    judge(&Context {
        ev,
        limits: &LIMITS,
        now: NOW,
        progress: progress.map(str::to_owned),
        thrashing: Vec::new(),
        loading_for: None,
        gpu_seen,
        unit: Some(("ollama.service".into(), false)),
    })
}

#[test]
fn refused_is_down_with_a_restart_through_systemd() {
    let mut ev = healthy_ev(vec![], vec![]);
    ev.version.light = light(Answer::Refused, Some("connection refused"));
    ev.ps = None;
    let f = verdict_of(&ev, None, false);
    assert_eq!(
        (f.verdict, f.remedy.kind, f.stuck),
        (Verdict::Down, RemedyKind::RestartServer, false)
    );
    assert_eq!(
        f.remedy.command.unwrap(),
        ["systemctl", "restart", "ollama.service"]
    );
}

#[test]
fn a_stopped_server_is_frozen_and_a_young_silent_one_is_starting() {
    let mut ev = healthy_ev(vec![], vec![]);
    ev.version.light = light(Answer::Silent, Some("no answer within 5s"));
    ev.ps = None;
    ev.processes = Some(server('T', 3600.0));
    let f = verdict_of(&ev, None, false);
    assert_eq!((f.verdict, f.stuck), (Verdict::Frozen, true));
    assert!(f.summary.contains("stopped (state T)"), "{}", f.summary);
    ev.processes = Some(server('S', 30.0));
    assert_eq!(verdict_of(&ev, None, false).verdict, Verdict::Loading);
    ev.processes = Some(server('S', 3600.0));
    assert_eq!(verdict_of(&ev, None, false).verdict, Verdict::Frozen);
}

#[test]
fn a_wedged_runner_is_pinned_to_its_pid() {
    let mut wedged = runner(4242);
    wedged.slots = None;
    wedged.slots_hung = true;
    let mut ev = healthy_ev(
        vec![model("a:latest", 1000, 60.0), model("b:latest", 1000, 60.0)],
        vec![runner(4000), wedged],
    );
    ev.e2e = vec![
        probe("a:latest", E2eEnd::Ok, None),
        probe("b:latest", E2eEnd::Silent, Some("no answer within 10s")),
    ];
    let f = verdict_of(&ev, None, true);
    assert_eq!(
        (f.verdict, f.stuck, f.remedy.pid),
        (Verdict::ModelWedged, true, Some(4242))
    );
    assert_eq!(f.remedy.kind, RemedyKind::KillRunner);
}

#[test]
fn silence_while_work_progresses_is_busy_not_frozen() {
    let mut ev = healthy_ev(vec![model("a:latest", 1000, -30.0)], vec![runner(4000)]);
    ev.e2e = vec![probe(
        "a:latest",
        E2eEnd::Silent,
        Some("no answer within 10s"),
    )];
    let f = verdict_of(
        &ev,
        Some("runner 4000 decoded 40 tokens during the check"),
        true,
    );
    assert_eq!((f.verdict, f.stuck), (Verdict::Busy, false));
    let f = verdict_of(&ev, None, true);
    assert_eq!(
        (f.verdict, f.remedy.pid),
        (Verdict::ModelWedged, Some(4000))
    );
    assert!(f.summary.contains("Stopping"), "{}", f.summary);
}

#[test]
fn fast_503s_are_overload_with_progress_and_a_deadlock_without() {
    let mut ev = healthy_ev(vec![model("a:latest", 1000, 60.0)], vec![runner(4000)]);
    ev.e2e = vec![probe("a:latest", E2eEnd::Busy503, Some("server busy"))];
    let f = verdict_of(
        &ev,
        Some("a request on a:latest completed during the check"),
        true,
    );
    assert_eq!(
        (f.verdict, f.remedy.kind),
        (Verdict::Overloaded, RemedyKind::ReportOnly)
    );
    let f = verdict_of(&ev, None, true);
    assert_eq!(
        (f.verdict, f.stuck, f.remedy.kind),
        (Verdict::Frozen, true, RemedyKind::RestartServer)
    );
}

#[test]
fn size_vram_zero_is_a_fallback_only_where_a_gpu_was_seen() {
    let ev = healthy_ev(vec![model("a:latest", 0, 60.0)], vec![runner(4000)]);
    assert_eq!(verdict_of(&ev, None, true).verdict, Verdict::CpuFallback);
    assert_eq!(verdict_of(&ev, None, false).verdict, Verdict::Ok);
}

#[test]
fn a_runner_with_no_model_in_ps_is_an_orphan_to_kill() {
    let ev = healthy_ev(vec![], vec![runner(4000)]);
    let f = verdict_of(&ev, None, true);
    assert_eq!(
        (f.verdict, f.remedy.pid, f.stuck),
        (Verdict::ModelWedged, Some(4000), true)
    );
    assert!(f.summary.contains("not serving any model"), "{}", f.summary);
}

#[test]
fn the_probe_request_is_harmless() {
    let m = model("a:latest", 1000, 90.0);
    let r = crate::probe_e2e::e2e_request(&m, NOW, false);
    assert_eq!(
        r["options"],
        serde_json::json!({"num_ctx": 4096, "num_predict": 1})
    );
    assert!(
        (r["keep_alive"].as_f64().unwrap() - 90.0).abs() < 1.5,
        "{r}"
    );
    // Pinned (keep_alive -1) and past-expiry models: no keep_alive at all, never 0.
    let pinned = model("p:latest", 1000, 300.0 * 365.0 * 86_400.0);
    assert!(
        crate::probe_e2e::e2e_request(&pinned, NOW, false)
            .get("keep_alive")
            .is_none()
    );
    let attached = model("s:latest", 1000, -10.0);
    assert!(
        crate::probe_e2e::e2e_request(&attached, NOW, false)
            .get("keep_alive")
            .is_none()
    );
    let mut old = model("o:latest", 1000, 0.0);
    old.expires_at = old.expires_at.replace('Z', ".4Z");
    old.context_length = None;
    let r = crate::probe_e2e::e2e_request(&old, NOW, false);
    assert_eq!(r["options"], serde_json::json!({"num_predict": 1}));
    assert_eq!(r["keep_alive"], 1.0);
    let e = crate::probe_e2e::e2e_request(&m, NOW, true);
    assert_eq!(
        (e["input"].as_str(), e["options"]["num_predict"].is_null()),
        (Some("hi"), true)
    );
}
