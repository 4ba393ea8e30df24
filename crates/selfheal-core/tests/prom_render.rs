//! What `--format prom` prints must pass the real `promtool check metrics`
//! (Debian package prometheus): no lint, no parse error.

use selfheal_core::metrics::{MetricFamily, MetricKind, Unit};
use selfheal_core::{Check, Report, Status};
use selfheal_test_support::{Cmd, require};

fn report() -> Report {
    let mut report = Report::new("restart-guard", "RESTART", "0.1.0");
    report.summary = "demo".into();
    report.check(Check::new("budget", Status::Warning, "2/3 used"));
    report.metrics = vec![
        MetricFamily::new(
            "selfheal_restart_guard_restarts_total",
            MetricKind::Counter,
            Unit::Count,
            "Restarts run by restart-guard.\nSecond line, with a \\ backslash.",
        )
        .with(&[("name", "trader@BTC.service")], 7.0)
        .with(&[("name", "quote\"back\\slash\nnewline")], 1.0),
        MetricFamily::new(
            "selfheal_restart_guard_next_allowed_timestamp_seconds",
            MetricKind::Gauge,
            Unit::Seconds,
            "When the next restart is allowed, Unix seconds.",
        )
        .with(&[("name", "a")], 1_795_448_927.5)
        .with(&[("name", "b")], f64::NAN)
        .with(&[("name", "c")], f64::INFINITY)
        .with(&[("name", "d")], f64::NEG_INFINITY),
        MetricFamily::new(
            "selfheal_restart_guard_up",
            MetricKind::Gauge,
            Unit::Count,
            "1 when the last decision could be made.",
        )
        .with(&[], 1.0),
    ];
    report
}

#[test]
fn prom_rendering_passes_promtool_without_lint() {
    require("promtool", "prometheus");
    let text = report().to_prom(&[("host".into(), "box-1".into())]);
    Cmd::new("promtool")
        .args(["check", "metrics"])
        .stdin(text.clone())
        .run()
        .expect_code(0);
    assert!(
        text.contains("host=\"box-1\",name=\"trader@BTC.service\""),
        "{text}"
    );
}
