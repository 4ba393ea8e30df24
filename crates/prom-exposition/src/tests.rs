//! Each test is one rule, on text small enough to read; the conformance
//! corpus (tests/corpus) checks the same verdicts against the real
//! promtool and node_exporter.

use super::*;

/// `(line, rule name)` of every problem.
pub(super) fn problems(text: &str) -> Vec<(usize, &'static str)> {
    check(text)
        .problems
        .iter()
        .map(|p| (p.line, p.rule.name()))
        .collect()
}

pub(super) fn errors(text: &str) -> Vec<(usize, &'static str)> {
    check(text)
        .errors()
        .map(|p| (p.line, p.rule.name()))
        .collect()
}

const HEAD: &str = "# HELP x_total X.\n# TYPE x_total counter\n";

#[test]
fn clean_text_has_no_problems_and_counts_series() {
    let text = format!("{HEAD}x_total{{a=\"1\"}} 1\nx_total{{a=\"2\"}} 2\n");
    let parsed = check(&text);
    assert_eq!(parsed.problems, vec![]);
    assert_eq!((parsed.family_count(), parsed.series()), (1, 2));
    assert!(
        parsed.families[0].samples.is_empty(),
        "check keeps no samples"
    );
}

#[test]
fn parse_keeps_samples_with_their_labels() {
    let text = format!("{HEAD}x_total{{a=\"q\\\"\\\\\\n\", b=\"\"}} +Inf\n");
    let parsed = parse(&text);
    let sample = &parsed.families[0].samples[0];
    assert_eq!(sample.line, 3);
    assert!(sample.value.is_infinite() && sample.value > 0.0);
    let labels: Vec<_> = sample.labels().collect();
    assert_eq!(labels, vec![("a", "q\\\"\\\\\\n"), ("b", "")]);
    assert_eq!(unescape(labels[0].1), "q\"\\\n");
}

#[test]
fn syntax_the_go_parser_accepts_is_accepted() {
    let text = "# HELP a A.\n# TYPE a GAUGE\n  a { x = \"1\" , } 1\na{x=\"2\"}2\n\n#TYPE b gauge\n#HELP b B.\nb -Inf\n";
    assert_eq!(problems(text), vec![]);
    for value in [
        "NaN", "+Inf", "-Inf", "inf", "1e-400", ".5", "5.", "+3", "-1.5E+3",
    ] {
        assert_eq!(errors(&format!("a {value}\n")), vec![], "{value}");
    }
}

#[test]
fn values_the_go_parser_refuses_are_errors() {
    for value in ["1e400", "0x10", "1_0", "+NaN", "one", "1,5", ""] {
        assert_eq!(
            errors(&format!("a {value}\n")),
            vec![(1, "value")],
            "{value:?}"
        );
    }
}

#[test]
fn a_missing_final_newline_or_crlf_is_an_error() {
    assert_eq!(errors("a 1\nb 2"), vec![(2, "final-newline")]);
    assert_eq!(errors("a 1\n   "), vec![]);
    assert_eq!(errors("a 1\r\n"), vec![(1, "line-ending")]);
    assert_eq!(errors("# TYPE a gauge\r\n"), vec![(1, "line-ending")]);
}

#[test]
fn timestamps_and_trailing_text_are_errors() {
    assert_eq!(errors("a 1 1700000000000\n"), vec![(1, "timestamp")]);
    assert_eq!(errors("a 1 \n"), vec![(1, "trailing-text")]);
    assert_eq!(errors("a 1 2 3\n"), vec![(1, "trailing-text")]);
    let message = &check("a 1 17\n").problems[0].message;
    assert!(message.contains("skips the whole file"), "{message}");
}

#[test]
fn names_labels_and_escapes() {
    assert_eq!(errors("9a 1\n"), vec![(1, "metric-name")]);
    assert_eq!(errors("a{9=\"1\"} 1\n"), vec![(1, "label-name")]);
    assert_eq!(errors("a{__name__=\"b\"} 1\n"), vec![(1, "reserved-label")]);
    assert_eq!(errors("a{__x=\"b\"} 1\n"), vec![(1, "reserved-label")]);
    assert_eq!(errors("a{x=1} 1\n"), vec![(1, "label-syntax")]);
    assert_eq!(errors("a{x=\"1\" y=\"2\"} 1\n"), vec![(1, "label-syntax")]);
    assert_eq!(errors("a{x=\"1} 1\n"), vec![(1, "label-syntax")]);
    assert_eq!(errors("a{x=\"\\t\"} 1\n"), vec![(1, "escape")]);
    assert_eq!(
        errors("a{x=\"1\",x=\"2\"} 1\n"),
        vec![(1, "duplicate-label")]
    );
    assert_eq!(errors("# HELP a tab\\there\na 1\n"), vec![(1, "escape")]);
    assert_eq!(errors("# HELP a q\\\"\na 1\n"), vec![(1, "escape")]);
    assert_eq!(errors("# HELP a ok \\\\ \\n\na 1\n"), vec![]);
    assert_eq!(errors("# HELP 9a x\n"), vec![(1, "metric-name")]);
}

#[test]
fn help_and_type_placement() {
    assert_eq!(
        errors("# HELP a x\n# HELP a y\na 1\n"),
        vec![(2, "duplicate-help")]
    );
    assert_eq!(
        errors("# TYPE a gauge\n# TYPE a gauge\na 1\n"),
        vec![(2, "duplicate-type")]
    );
    assert_eq!(
        errors("a 1\n# TYPE a gauge\n"),
        vec![(2, "type-after-samples")]
    );
    assert_eq!(
        errors("# TYPE a gauge_histogram\n"),
        vec![(1, "unknown-type")]
    );
    // HELP after the samples is accepted by the Go parser, and so here.
    assert_eq!(errors("a 1\n# HELP a x\n"), vec![]);
    // `# HELP a` without text sets nothing and is no error.
    assert_eq!(problems("# HELP a\n# TYPE a\n"), vec![]);
}

#[test]
fn duplicate_series_ignore_label_order_and_empty_values() {
    assert_eq!(errors("a 1\na 2\n"), vec![(2, "duplicate-series")]);
    assert_eq!(
        errors("a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 1\n"),
        vec![(2, "duplicate-series")]
    );
    assert_eq!(errors("a{x=\"\"} 1\na 1\n"), vec![(2, "duplicate-series")]);
    assert_eq!(errors("a{x=\"1\"} 1\na{x=\"2\"} 1\na 1\n"), vec![]);
    let parsed = check("a 1\nb 1\na 2\n");
    let message = &parsed.errors().next().unwrap().message;
    assert!(message.contains("line 1"), "{message}");
}

const HISTOGRAM: &str = "# HELP h_seconds H.\n# TYPE h_seconds histogram\n";

fn histogram(body: &str) -> Vec<(usize, &'static str)> {
    errors(&format!("{HISTOGRAM}{body}"))
}

#[test]
fn a_consistent_histogram_is_valid() {
    let body = "h_seconds_bucket{le=\"0.1\"} 1\nh_seconds_bucket{le=\"1\"} 3\nh_seconds_bucket{le=\"+Inf\"} 4\nh_seconds_sum 2.5\nh_seconds_count 4\n";
    assert_eq!(problems(&format!("{HISTOGRAM}{body}")), vec![]);
    let labelled = body
        .replace("{le", "{path=\"/x\",le")
        .replace("_sum ", "_sum{path=\"/x\"} ")
        .replace("_count ", "_count{path=\"/x\"} ");
    assert_eq!(histogram(&format!("{body}{labelled}")), vec![]);
}

#[test]
fn histogram_rules() {
    let inf = "h_seconds_bucket{le=\"+Inf\"} 2\nh_seconds_sum 1\nh_seconds_count 2\n";
    assert_eq!(
        histogram(&format!("h_seconds_bucket{{le=\"1\"}} 3\n{inf}")),
        vec![(4, "histogram")]
    );
    assert_eq!(
        histogram(&format!(
            "h_seconds_bucket{{le=\"1\"}} 1\nh_seconds_bucket{{le=\"0.5\"}} 1\n{inf}"
        )),
        vec![(4, "histogram")]
    );
    assert_eq!(
        histogram("h_seconds_bucket{le=\"1\"} 2\nh_seconds_sum 1\nh_seconds_count 2\n"),
        vec![(3, "histogram")]
    );
    assert_eq!(
        histogram("h_seconds_bucket{le=\"+Inf\"} 2\nh_seconds_sum 1\nh_seconds_count 3\n"),
        vec![(3, "histogram")]
    );
    assert_eq!(
        histogram("h_seconds_bucket{le=\"+Inf\"} 2\nh_seconds_sum 1\n"),
        vec![(3, "histogram")]
    );
    assert_eq!(
        histogram("h_seconds_bucket{le=\"+Inf\"} 2\nh_seconds_count 2\n"),
        vec![(3, "histogram")]
    );
    assert_eq!(
        histogram(&format!("h_seconds_bucket{{le=\"x\"}} 1\n{inf}")),
        vec![(3, "histogram")]
    );
    assert_eq!(
        histogram(&format!("h_seconds_bucket{{le=\"1\"}} 1.5\n{inf}")),
        vec![(3, "histogram")]
    );
    assert_eq!(
        histogram(&format!("h_seconds_bucket 1\n{inf}")),
        vec![(3, "histogram")]
    );
    assert_eq!(
        histogram(&format!("h_seconds 1\n{inf}")),
        vec![(3, "series-name")]
    );
    assert_eq!(
        histogram(&format!("h_seconds_bucket{{le=\"NaN\"}} 1\n{inf}")),
        vec![(3, "histogram")]
    );
    // A broken +Inf bucket is reported, but not also as a missing one.
    let text = format!(
        "{HISTOGRAM}h_seconds_bucket{{le=\"+Inf\"}} 2.5\nh_seconds_sum 1\nh_seconds_count 2\n"
    );
    let parsed = check(&text);
    let messages: Vec<&str> = parsed.errors().map(|p| p.message.as_str()).collect();
    assert!(messages[0].contains("not a whole number"), "{messages:?}");
    assert!(
        !messages.iter().any(|m| m.contains("no le=")),
        "{messages:?}"
    );
    assert_eq!(
        histogram(&format!("{inf}# HELP h_seconds_bucket B.\n")),
        vec![(6, "duplicate-help")]
    );
}

#[test]
fn summary_rules() {
    let head = "# HELP s S.\n# TYPE s summary\n";
    let tail = "s_sum 1\ns_count 2\n";
    assert_eq!(
        errors(&format!(
            "{head}s{{quantile=\"0.5\"}} NaN\ns{{quantile=\"0.9\"}} 1\n{tail}"
        )),
        vec![]
    );
    // Any order (node_exporter sorts them), but each quantile once.
    assert_eq!(
        errors(&format!(
            "{head}s{{quantile=\"0.9\"}} 1\ns{{quantile=\"0.5\"}} 1\n{tail}"
        )),
        vec![]
    );
    assert_eq!(
        errors(&format!(
            "{head}s{{quantile=\"0.5\"}} 1\ns{{quantile=\"0.50\"}} 2\n{tail}"
        )),
        vec![(4, "summary")]
    );
    assert_eq!(
        errors(&format!("{head}s{{quantile=\"1.5\"}} 1\n{tail}")),
        vec![(3, "summary")]
    );
    assert_eq!(
        errors(&format!("{head}s 1\n{tail}")),
        vec![(3, "series-name")]
    );
    assert_eq!(
        errors(&format!("{head}s{{quantile=\"0.5\"}} 1\ns_sum 1\n")),
        vec![(3, "summary")]
    );
}

#[test]
fn names_that_collide_with_a_histogram_series_are_errors() {
    let text = "# HELP s_count C.\n# TYPE s_count gauge\ns_count 1\n# HELP s S.\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 3\n";
    assert!(
        errors(text).contains(&(1, "name-collision")),
        "{:?}",
        problems(text)
    );
}

#[test]
fn promtool_lints_are_warnings() {
    let lints = |text: &str| -> Vec<&'static str> {
        let parsed = check(text);
        assert!(parsed.is_valid(), "{:?}", parsed.problems);
        parsed.warnings().map(|p| p.rule.name()).collect()
    };
    assert_eq!(lints("a 1\n"), vec!["no-help"]);
    assert_eq!(
        lints("# HELP a A.\n# TYPE a counter\na 1\n"),
        vec!["counter-total"]
    );
    assert_eq!(
        lints("# HELP a_total A.\n# TYPE a_total gauge\na_total 1\n"),
        vec!["non-counter-total"]
    );
    assert_eq!(
        lints("# HELP a_milliseconds A.\na_milliseconds 1\n"),
        vec!["base-unit"]
    );
    assert_eq!(lints("# HELP a_ms A.\na_ms 1\n"), vec!["unit-abbreviation"]);
    assert_eq!(lints("# HELP a:b A.\na:b 1\n"), vec!["colon"]);
    assert_eq!(lints("# HELP aB A.\naB 1\n"), vec!["camel-case"]);
    assert_eq!(
        lints("# HELP a A.\na{fooBar=\"1\"} 1\n"),
        vec!["camel-case"]
    );
    assert_eq!(
        lints("# HELP a_gauge A.\n# TYPE a_gauge gauge\na_gauge 1\n"),
        vec!["type-in-name"]
    );
    assert_eq!(
        lints("# HELP a_count A.\n# TYPE a_count gauge\na_count 1\n"),
        vec!["reserved-suffix"]
    );
    assert_eq!(
        lints("# HELP a A.\n# TYPE a gauge\na{le=\"1\"} 1\n"),
        vec!["structural-label"]
    );
    // Untyped families are exempt from the reserved-name rules, as in promtool.
    assert_eq!(
        lints("# HELP a_count A.\na_count{le=\"1\"} 1\n"),
        Vec::<&str>::new()
    );
    assert_eq!(lints("# HELP a_bytes A.\na_bytes 1\n"), Vec::<&str>::new());
}

#[test]
fn every_problem_is_reported_with_its_line() {
    let text = "a 1 5\nb{x=\"\\q\"} 1\nc 1\nc 2\nd 1";
    assert_eq!(
        errors(text),
        vec![
            (1, "timestamp"),
            (2, "escape"),
            (4, "duplicate-series"),
            (5, "final-newline")
        ]
    );
    let shown = check(text).problems[0].to_string();
    assert!(shown.starts_with("line 1: error[timestamp]: "), "{shown}");
}
