//! The audit log against real files, FIFOs, device nodes, symlinks and
//! concurrent writers.

use super::*;
use serde::Deserialize;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    id: u32,
    text: String,
}

fn line(id: u32) -> Line {
    Line {
        id,
        text: format!("record {id}"),
    }
}

fn ids(log: &AuditLog) -> (Vec<u32>, Scan) {
    let mut ids = Vec::new();
    let scan = log.scan(|l: Line, _| ids.push(l.id)).unwrap();
    (ids, scan)
}

/// Runs `f` on a thread and fails if it does not return within 10 s: a
/// FIFO opened the wrong way blocks forever.
fn within_10s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()));
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the call blocked for 10 s")
}

fn run(program: &str, args: &[&std::ffi::OsStr]) {
    let status = Command::new(program).args(args).status().unwrap();
    assert!(status.success(), "{program} {args:?}: {status}");
}

#[test]
fn lines_round_trip_with_their_text() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(dir.path().join("a.jsonl"));
    log.append(&line(1)).unwrap();
    log.append(&line(2)).unwrap();
    let mut seen = Vec::new();
    log.scan(|l: Line, text| seen.push((l, text.to_owned())))
        .unwrap();
    assert_eq!(seen[1].0, line(2));
    assert_eq!(seen[1].1, r#"{"id":2,"text":"record 2"}"#);
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert_eq!(text.lines().count(), 2);
}

#[test]
fn torn_last_line_is_skipped_and_never_glued_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(dir.path().join("a.jsonl"));
    log.append(&line(1)).unwrap();
    // A crash mid-write leaves half a line without its newline.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(log.path())
        .unwrap();
    file.write_all(br#"{"id":7,"te"#).unwrap();
    log.append(&line(2)).unwrap();
    assert_eq!(ids(&log), (vec![1, 2], Scan { skipped: 1 }));
}

#[test]
fn an_overlong_line_is_skipped_and_the_next_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(dir.path().join("a.jsonl"));
    let huge = format!("{{\"id\":9,\"text\":\"{}\"}}\n", "x".repeat(MAX_LINE * 3));
    std::fs::write(log.path(), huge).unwrap();
    log.append(&line(2)).unwrap();
    assert_eq!(ids(&log), (vec![2], Scan { skipped: 1 }));
}

#[test]
fn missing_log_reads_as_empty() {
    let log = AuditLog::new("/nonexistent-selfheal/audit.jsonl");
    assert_eq!(ids(&log), (vec![], Scan::default()));
    let err = log.append(&line(1)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot open audit log /nonexistent-selfheal/audit.jsonl: "),
        "{err}"
    );
}

#[test]
fn the_writability_check_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    AuditLog::new(&path).check_writable().unwrap();
    assert!(!path.exists(), "the check created the log");
    let err = AuditLog::new(dir.path().join("missing/audit.jsonl"))
        .check_writable()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("cannot open audit log"), "{err}");
}

/// Every way in must refuse `path` and name it and what it is.
fn assert_refused(path: &Path, what: &str) {
    let log = AuditLog::new(path);
    let errors = [
        log.check_writable().unwrap_err(),
        log.append(&line(1)).unwrap_err(),
        log.scan(|_: Line, _| {}).unwrap_err(),
    ];
    for err in errors {
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.to_lowercase().contains(what), "{text}");
    }
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("a.jsonl");
    run("mkfifo", &[fifo.as_os_str()]);
    within_10s(move || assert_refused(&fifo, "a fifo"));
}

#[test]
fn a_device_node_is_refused_and_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("full");
    // /dev/full (char 1,7) reads zeros without end. Only root may mknod;
    // others check the real one, which is refused before it is opened.
    let node = if rustix::process::geteuid().is_root() {
        run(
            "mknod",
            &[node.as_os_str(), "c".as_ref(), "1".as_ref(), "7".as_ref()],
        );
        node
    } else {
        PathBuf::from("/dev/full")
    };
    within_10s(move || assert_refused(&node, "a character device"));
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused(dir.path(), "a directory");
}

#[test]
fn a_symlink_is_refused_and_its_target_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("precious");
    std::fs::write(&target, "keep me\n").unwrap();
    let link = dir.path().join("a.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_refused(&link, "is a symlink");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
}

#[test]
fn rotates_at_the_size_limit_and_drops_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    // Each line is 26 bytes: two fit in 60, the third rotates.
    let log = AuditLog::new(dir.path().join("a.jsonl")).rotate_at(60, 2);
    for id in 1..=7 {
        log.append(&line(id)).unwrap();
    }
    let lines = |p: &Path| std::fs::read_to_string(p).unwrap().lines().count();
    assert_eq!(lines(log.path()), 1);
    assert_eq!(lines(&log.rotated(1)), 2);
    assert_eq!(lines(&log.rotated(2)), 2);
    assert!(!log.rotated(3).exists());
    // Records 1 and 2 went with the dropped file; the rest in order.
    assert_eq!(ids(&log).0, vec![3, 4, 5, 6, 7]);
}

#[test]
fn size_zero_never_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(dir.path().join("a.jsonl")).rotate_at(0, 3);
    for id in 1..=50 {
        log.append(&line(id)).unwrap();
    }
    assert!(!log.rotated(1).exists());
    assert_eq!(ids(&log).0.len(), 50);
}

#[test]
fn concurrent_appenders_through_rotations_lose_no_line() {
    const THREADS: u32 = 4;
    const EACH: u32 = 150;
    let dir = tempfile::tempdir().unwrap();
    // About 20 rotations; keep enough files that none is dropped.
    let log = AuditLog::new(dir.path().join("a.jsonl")).rotate_at(1024, 1000);
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    log.append(&line(t * 1000 + i)).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let (mut seen, scan) = ids(&log);
    assert_eq!(scan.skipped, 0);
    assert!(
        log.rotated(15).exists(),
        "too few rotations to test anything"
    );
    seen.sort_unstable();
    let mut want: Vec<u32> = (0..THREADS)
        .flat_map(|t| (0..EACH).map(move |i| t * 1000 + i))
        .collect();
    want.sort_unstable();
    assert_eq!(seen, want);
    // Each thread's lines are in its own order across the files.
    let (in_order, _) = ids(&log);
    for t in 0..THREADS {
        let mine: Vec<u32> = in_order
            .iter()
            .copied()
            .filter(|id| id / 1000 == t)
            .collect();
        assert!(mine.is_sorted(), "thread {t}: {mine:?}");
    }
}

#[test]
fn tail_keeps_the_last_matching_records_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(dir.path().join("a.jsonl")).rotate_at(200, 10);
    for id in 0..100 {
        log.append(&line(id)).unwrap();
    }
    assert!(log.rotated(2).exists());
    let (last, _) = log.tail(3, |l: &Line| l.id.is_multiple_of(2)).unwrap();
    let last: Vec<u32> = last.iter().map(|(l, _)| l.id).collect();
    assert_eq!(last, [94, 96, 98]);
    assert!(log.tail(0, |_: &Line| true).unwrap().0.is_empty());
}

#[test]
fn sizes_parse_in_powers_of_1024() {
    assert_eq!(parse_size("10MiB"), Ok(10 << 20));
    assert_eq!(parse_size("512k"), Ok(512 << 10));
    assert_eq!(parse_size("1G"), Ok(1 << 30));
    assert_eq!(parse_size("4096"), Ok(4096));
    assert_eq!(parse_size("0"), Ok(0));
    assert!(parse_size("ten").is_err());
    assert!(parse_size("10 parsecs").is_err());
    assert!(parse_size("99999999999999GiB").is_err());
}
