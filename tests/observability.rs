//! The shipped alert rules, Alertmanager example and Grafana dashboard are
//! code: the rules pass `promtool check rules` and their unit tests (each
//! alert tested firing and not), the Alertmanager file passes `amtool
//! check-config` and, run in a real Alertmanager, holds back the agents'
//! stalls while Ollama is down on the same host; every dashboard
//! expression is valid PromQL; and every `selfheal_*` metric either one
//! names is one the built tools really print with `--format prom`.

mod exported;

use selfheal_test_support::{Cmd, require, tempdir};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn contrib(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contrib")
        .join(path)
}

fn read(path: &str) -> String {
    fs::read_to_string(contrib(path)).unwrap_or_else(|e| panic!("read contrib/{path}: {e}"))
}

const RULES: &str = "prometheus/selfheal.rules.yml";
const RULE_TESTS: &str = "prometheus/selfheal.rules.test.yml";
const ALERTMANAGER: &str = "alertmanager/alertmanager.yml";
const DASHBOARD: &str = "grafana/selfheal.json";

/// `- alert: Name` lines of the rules file.
fn alert_names() -> Vec<String> {
    read(RULES)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_rules_pass_promtool_and_every_alert_is_tested_firing_and_not() {
    require("promtool", "prometheus");
    Cmd::new("promtool")
        .args(["check", "rules"])
        .arg(contrib(RULES))
        .run()
        .expect_code(0)
        .stdout_has("SUCCESS");
    Cmd::new("promtool")
        .args(["test", "rules"])
        .arg(contrib(RULE_TESTS))
        .run()
        .expect_code(0)
        .stdout_has("SUCCESS");
    let tests = read(RULE_TESTS);
    let alerts = alert_names();
    assert!(alerts.len() >= 8, "{alerts:?}");
    for alert in alerts {
        // Each alert: one evaluation expecting nothing, one expecting it.
        let blocks: Vec<&str> = tests
            .split("- eval_time:")
            .filter(|b| b.contains(&format!("alertname: {alert}\n")))
            .collect();
        let quiet = blocks
            .iter()
            .filter(|b| b.contains("exp_alerts: []"))
            .count();
        let firing = blocks.iter().filter(|b| b.contains("exp_labels:")).count();
        assert!(
            quiet >= 1 && firing >= 1,
            "{alert}: {quiet} quiet, {firing} firing tests"
        );
    }
}

#[test]
fn the_alertmanager_example_passes_amtool_and_routes_pages_per_host() {
    require("amtool", "prometheus-alertmanager");
    Cmd::new("amtool")
        .arg("check-config")
        .arg(contrib(ALERTMANAGER))
        .run()
        .expect_code(0)
        .stdout_has("SUCCESS");
    for (labels, receiver) in [
        (
            ["alertname=AgentStalled", "severity=page"],
            "selfheal-pager",
        ),
        (["alertname=RestartLoop", "severity=page"], "selfheal-pager"),
        (["alertname=Anything", "severity=warning"], "selfheal-chat"),
    ] {
        let run = Cmd::new("amtool")
            .args(["config", "routes", "test", "--config.file"])
            .arg(contrib(ALERTMANAGER))
            .arg("instance=box1")
            .args(labels)
            .run()
            .expect_code(0);
        assert_eq!(run.stdout.trim(), receiver, "{run}");
    }
    let text = read(ALERTMANAGER);
    assert!(text.contains("group_by: [instance, cause]"), "{text}");
}

#[test]
fn every_dashboard_expression_is_valid_promql() {
    require("promtool", "prometheus");
    let exprs = exported::dashboard_exprs(&read(DASHBOARD));
    assert!(exprs.len() >= 10, "{exprs:?}");
    // Each panel query as a recording rule, Grafana's variables filled in.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in exprs.iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "5m")
            .replace("$__range", "6h")
            .replace("$__interval", "1m")
            .replace("$instance", ".*");
        assert!(!expr.contains('$'), "a Grafana variable left in {expr}");
        let quoted = serde_json::to_string(&expr).unwrap();
        let _ = writeln!(
            rules,
            "      - record: dashboard:panel_{i}\n        expr: {quoted}"
        );
    }
    let dir = tempdir().unwrap();
    let file = dir.path().join("dashboard.rules.yml");
    fs::write(&file, &rules).unwrap();
    Cmd::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .run()
        .expect_code(0)
        .stdout_has(&format!("SUCCESS: {} rules found", exprs.len()));
}

#[test]
fn every_metric_the_rules_and_dashboard_use_is_one_the_tools_export() {
    let exported = exported::selfheal_names();
    // The run must have seen every tool the files draw on.
    for prefix in [
        "selfheal_ollama_frozen_check_",
        "selfheal_gpu_probe_",
        "selfheal_stall_probe_",
        "selfheal_restart_guard_",
    ] {
        assert!(
            exported.iter().any(|n| n.starts_with(prefix)),
            "no {prefix}* exported: {exported:?}"
        );
    }
    for file in [RULES, RULE_TESTS, DASHBOARD] {
        let used = exported::names_in(&read(file));
        assert!(!used.is_empty(), "{file} names no selfheal metric");
        let unknown: BTreeSet<&String> = used.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{file} uses metrics no tool exports: {unknown:?}\nexported: {exported:?}"
        );
    }
    // Misspelt names must be caught: the check is not blind.
    let typo = exported::names_in("selfheal_restart_guard_budget_remianing");
    assert!(!typo.is_subset(&exported));
}

#[test]
fn node_exporter_serves_the_textfile_mtime_the_staleness_alert_reads() {
    let exporter = selfheal_test_support::node_exporter::NodeExporter::start();
    let file = exporter.dir().join("ollama.prom");
    fs::write(&file, "# HELP x X.\n# TYPE x gauge\nx 1\n").unwrap();
    let body = exporter.get("/metrics").expect("node_exporter answers");
    // The full path, which the rule's `(.*/)?` prefix allows for.
    let line = format!("node_textfile_mtime_seconds{{file=\"{}\"}}", file.display());
    assert!(body.contains(&line), "{body}");
    assert!(read(RULES).contains("node_textfile_mtime_seconds{file=~\"(.*/)?(ollama|"));
}

#[test]
fn alertmanager_pages_once_per_root_cause_on_each_host() {
    let alertmanager = exported::Alertmanager::start(&contrib(ALERTMANAGER));
    let alert = |name: &str, instance: &str, cause: &str| {
        format!(
            r#"{{"labels":{{"alertname":"{name}","instance":"{instance}","cause":"{cause}","severity":"page"}}}}"#
        )
    };
    let alerts = [
        // box1: Ollama down, so its agent stalls; box2: an agent alone.
        alert("OllamaDown", "box1", "ollama"),
        alert("AgentStalled", "box1", "agent"),
        alert("AgentStalled", "box2", "agent"),
        // box3: a lost GPU under a frozen Ollama.
        alert("GpuLost", "box3", "gpu"),
        alert("OllamaFrozen", "box3", "ollama"),
        // box4: a restart loop that also used up the budget.
        alert("RestartLoop", "box4", "restart-loop"),
        alert("RestartBudgetExhausted", "box4", "restart-budget"),
    ];
    alertmanager.post_alerts(&format!("[{}]", alerts.join(",")));
    let suppressed =
        |s: &BTreeMap<String, String>| s.values().filter(|v| *v == "suppressed").count();
    let states = alertmanager.states_when(|s| s.len() == alerts.len() && suppressed(s) == 3);
    for (alert, state) in [
        ("OllamaDown/box1", "active"),
        ("AgentStalled/box1", "suppressed"),
        ("AgentStalled/box2", "active"),
        ("GpuLost/box3", "active"),
        ("OllamaFrozen/box3", "suppressed"),
        ("RestartLoop/box4", "active"),
        ("RestartBudgetExhausted/box4", "suppressed"),
    ] {
        assert_eq!(
            states.get(alert).map(String::as_str),
            Some(state),
            "{alert}: {states:?}"
        );
    }
}
