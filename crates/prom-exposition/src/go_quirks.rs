//! Cases where the Go parser (node_exporter 1.5, promtool 2.42) reads a
//! text differently from how it looks; each was checked against the real
//! tools and is pinned in this crate's conformance corpus too.

use super::tests::{errors, problems};
use super::*;

const HISTOGRAM: &str = "# HELP h_seconds H.\n# TYPE h_seconds histogram\n";

fn histogram(body: &str) -> Vec<(usize, &'static str)> {
    errors(&format!("{HISTOGRAM}{body}"))
}

#[test]
fn help_or_type_with_only_blanks_after_the_name_creates_the_family() {
    // The Go parser files the later `h_count` sample under that family, not
    // under histogram h, and node_exporter drops one of the two.
    for mention in ["# HELP h_count \n", "# TYPE h_count\t\n"] {
        let text = format!(
            "{mention}# HELP h H.\n# TYPE h histogram\nh_bucket{{le=\"+Inf\"}} 1\nh_sum 1\nh_count 1\n"
        );
        assert!(
            errors(&text).contains(&(1, "name-collision")),
            "{:?}",
            problems(&text)
        );
        // Without the blank the line is only a comment.
        let plain = text.replacen(" \n", "\n", 1).replacen("\t\n", "\n", 1);
        assert_eq!(errors(&plain), vec![], "{plain:?}");
    }
}

#[test]
fn an_empty_label_value_splits_a_histogram_as_in_the_go_parser() {
    // `{a=""}` buckets and a bare _sum/_count are two histograms there;
    // node_exporter serves one of them with _sum 0 and _count 0.
    let text = "h_seconds_bucket{a=\"\",le=\"+Inf\"} 1\nh_seconds_sum 1\nh_seconds_count 1\n";
    assert_eq!(
        histogram(text),
        vec![(3, "histogram"), (3, "histogram"), (4, "histogram")]
    );
    let message = &check(&format!("{HISTOGRAM}{text}")).problems[0].message;
    assert!(message.contains("empty value"), "{message}");
    let labelled = "h_seconds_bucket{a=\"\",le=\"+Inf\"} 1\nh_seconds_sum{a=\"\"} 1\nh_seconds_count{a=\"\"} 1\n";
    assert_eq!(histogram(labelled), vec![]);
}

#[test]
fn counts_of_2_to_the_64_or_more_are_errors() {
    // node_exporter's uint64 conversion serves them as 2^63.
    let body = |count: &str| {
        format!(
            "h_seconds_bucket{{le=\"+Inf\"}} {count}\nh_seconds_sum 1\nh_seconds_count {count}\n"
        )
    };
    assert_eq!(histogram(&body("1.8e19")), vec![]);
    assert_eq!(
        histogram(&body("1.8446744073709552e19")),
        vec![(3, "histogram"), (5, "histogram")]
    );
    let summary = "# HELP s S.\n# TYPE s summary\ns_sum 1\ns_count 1e20\n";
    assert_eq!(errors(summary), vec![(4, "summary")]);
}

#[test]
fn type_words_upper_case_as_in_go() {
    // Go's strings.ToUpper maps U+017F (long s) to S and U+0131 to I.
    let text = "# HELP s S.\n# TYPE s \u{17f}ummary\ns_sum 1\ns_count 1\n";
    assert_eq!(problems(text), vec![]);
    assert_eq!(check(text).families[0].kind, Kind::Summary);
    // A ligature that upper-cases to two letters does not count.
    assert_eq!(
        errors("# TYPE h hi\u{fb06}ogram\n"),
        vec![(1, "unknown-type")]
    );
    let text = "# TYPE g Gauge_Histogram\ng 1\n";
    let message = &check(text).problems[0].message;
    assert!(message.contains("panics"), "{message}");
}

#[test]
fn an_invalid_escape_is_quoted_as_the_character_written() {
    let message = &check("a{x=\"\\\u{e9}\"} 1\n").problems[0].message;
    assert!(message.contains("'\\\u{e9}'"), "{message}");
    let message = &check("# HELP a x\\\u{e9}\na 1\n").problems[0].message;
    assert!(message.contains("'\\\u{e9}'"), "{message}");
}

#[test]
fn names_node_exporter_exports_itself_are_errors() {
    // Served in place of the collector's own: it would hide broken files.
    assert_eq!(
        errors("node_textfile_scrape_error 0\n"),
        vec![(1, "exporter-name")]
    );
    let text = "# HELP go_goroutines G.\n# TYPE go_goroutines gauge\ngo_goroutines{a=\"b\"} 1\n";
    assert_eq!(errors(text), vec![(1, "exporter-name")]);
    assert_eq!(errors("# HELP go_goroutines \n"), vec![]);
}

#[test]
fn a_repeated_quantile_is_found_in_any_order_and_reported_at_the_repeat() {
    let head = "# HELP s S.\n# TYPE s summary\n";
    let tail = "s_sum 1\ns_count 2\n";
    let text = format!(
        "{head}s{{quantile=\"0.9\"}} 1\ns{{quantile=\"0.5\"}} 1\ns{{quantile=\"0.90\"}} 1\n{tail}"
    );
    assert_eq!(errors(&text), vec![(5, "summary")]);
    let message = &check(&text).problems[0].message;
    assert!(message.contains("repeats the one on line 3"), "{message}");
    // -0 and 0 are one map key in Go.
    let text = format!("{head}s{{quantile=\"0\"}} 1\ns{{quantile=\"-0\"}} 1\n{tail}");
    assert_eq!(errors(&text), vec![(4, "summary")]);
}

#[test]
fn a_repeated_label_is_found_among_many() {
    let many: Vec<String> = (0..100).map(|i| format!("l{i}=\"v\"")).collect();
    let text = format!("a{{{},l42=\"w\"}} 1\n", many.join(","));
    assert_eq!(errors(&text), vec![(1, "duplicate-label")]);
    let message = &check(&text).problems[0].message;
    assert!(message.contains("\"l42\""), "{message}");
    let text = format!("a{{{}}} 1\n", many.join(","));
    assert_eq!(errors(&text), vec![]);
}
