//! What metrics-textfile writes is what the real node_exporter textfile
//! collector serves, on a loopback port of its own.

use selfheal_test_support::Cmd;
use selfheal_test_support::node_exporter::{NodeExporter, sample_lines};

const BIN: &str = env!("CARGO_BIN_EXE_metrics-textfile");

const SOURCE: &str = "# HELP selfheal_demo_up Whether the demo answered.
# TYPE selfheal_demo_up gauge
selfheal_demo_up{instance=\"a\"} 1
selfheal_demo_up{instance=\"b\"} 0
# HELP selfheal_demo_checks_total Checks run.
# TYPE selfheal_demo_checks_total counter
selfheal_demo_checks_total 42
";

#[test]
fn what_we_write_is_read_by_the_collector_as_written() {
    let mut exporter = NodeExporter::start();
    let target = exporter.dir().join("written.prom");
    Cmd::new(BIN)
        .arg("--output")
        .arg(&target)
        .stdin(SOURCE)
        .run()
        .expect_code(0);
    let body = exporter.get("/metrics").expect("scrape");
    assert!(body.contains("node_textfile_scrape_error 0"), "{body}");
    let mtime = format!(
        "node_textfile_mtime_seconds{{file=\"{}\"}}",
        target.display()
    );
    assert!(body.contains(&mtime), "{body}");
    let written = std::fs::read(&target).expect("read");
    assert_eq!(written, SOURCE.as_bytes());
    let scrape = exporter.scrape_file("written.prom", &written);
    assert_eq!(scrape.expect("scrape").samples.len(), sample_lines(SOURCE));
}
