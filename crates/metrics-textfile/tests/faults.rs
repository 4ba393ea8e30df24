//! Every way a write can fail leaves the previous file byte-identical, no
//! temp file behind, and exits 2: invalid or empty input, a producer that
//! fails or is killed mid-output, a full filesystem, a read-only one, and
//! a directory we may not write.
//!
//! Full and read-only filesystems are real tmpfs mounts, which needs root
//! (CAP_SYS_ADMIN). Without it these tests fail, unless
//! SELFHEAL_TESTS_WITHOUT_MOUNT=1 asks for the weaker fallbacks: a skip
//! must be a choice someone made, never silent.

use selfheal_test_support::{Cmd, Run, TempDir, names_in, require, tempdir};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_metrics-textfile");

const OLD: &str = "# HELP jobs_running Jobs.\n# TYPE jobs_running gauge\njobs_running 1\n";
const NEW: &str = "# HELP jobs_running Jobs.\n# TYPE jobs_running gauge\njobs_running 2\n";

/// A directory holding `jobs.prom` with the old content.
struct Target {
    dir: TempDir,
    path: PathBuf,
}

impl Target {
    fn new() -> Self {
        let dir = tempdir().expect("tempdir");
        Target::in_dir(dir)
    }

    fn in_dir(dir: TempDir) -> Self {
        let path = dir.path().join("jobs.prom");
        fs::write(&path, OLD).expect("write old file");
        Target { dir, path }
    }

    /// Runs `metrics-textfile --output jobs.prom -- sh -c SCRIPT`.
    fn produce(&self, script: &str, extra: &[&str]) -> Run {
        Cmd::new(BIN)
            .arg("--output")
            .arg(&self.path)
            .args(extra)
            .args(["--", "sh", "-c", script])
            .run()
    }

    fn write(&self, input: impl Into<Vec<u8>>, extra: &[&str]) -> Run {
        Cmd::new(BIN)
            .arg("--output")
            .arg(&self.path)
            .args(extra)
            .stdin(input)
            .run()
    }

    /// The old file is byte-identical and alone in its directory.
    #[track_caller]
    fn assert_untouched(&self, run: &Run) {
        assert_eq!(fs::read(&self.path).expect("read"), OLD.as_bytes(), "{run}");
        assert_eq!(names_in(self.dir.path()), vec!["jobs.prom"], "{run}");
    }
}

#[test]
fn invalid_input_leaves_the_old_file() {
    let target = Target::new();
    for bad in [
        "jobs_running 2 1700000000000\n",
        "jobs_running 2",
        "jobs_running 2\njobs_running 3\n",
    ] {
        let run = target
            .write(bad, &[])
            .expect_code(2)
            .stdout_has("not written");
        target.assert_untouched(&run);
    }
}

#[test]
fn empty_input_leaves_the_old_file_unless_allowed() {
    let target = Target::new();
    for empty in ["", "# only a comment\n", "# HELP jobs_running Jobs.\n"] {
        let run = target
            .write(empty, &[])
            .expect_code(2)
            .stdout_has("no samples")
            .stdout_has("--allow-empty writes it anyway");
        target.assert_untouched(&run);
    }
    target.write("", &["--allow-empty"]).expect_code(0);
    assert_eq!(fs::read(&target.path).expect("read"), b"");
}

#[test]
fn a_producer_killed_mid_output_leaves_the_old_file() {
    let target = Target::new();
    // A valid-looking prefix, then the producer dies: a pipe would pass the
    // prefix on; run as a command, its death is seen and nothing is written.
    let prefix = NEW.replace('\n', "\\n");
    for ending in ["kill -9 $$", "exit 1"] {
        let script = format!("printf '{prefix}'; {ending}; echo never 1");
        let run = target
            .produce(&script, &[])
            .expect_code(2)
            .stdout_has("its output is not trusted");
        target.assert_untouched(&run);
    }
}

#[test]
fn a_producer_past_its_deadline_is_killed_and_nothing_is_written() {
    let target = Target::new();
    let script = format!("printf '{}'; sleep 60", NEW.replace('\n', "\\n"));
    let started = std::time::Instant::now();
    let run = target
        .produce(&script, &["--timeout", "300ms"])
        .expect_code(2)
        .stdout_has("timed out after 300ms");
    assert!(started.elapsed().as_secs() < 10, "{run}");
    target.assert_untouched(&run);
}

/// A tmpfs mounted over a temp dir, unmounted on Drop; None when this
/// process may not mount.
struct Mount {
    dir: Option<TempDir>,
}

impl Mount {
    fn tmpfs(size: &str) -> Option<Self> {
        let dir = tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Mount { dir: Some(dir) })
    }

    fn path(&self) -> &Path {
        self.dir.as_ref().expect("mounted").path()
    }

    fn remount_read_only(&self) {
        let status = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(self.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "remount,ro failed");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = Command::new("umount").arg(dir.path()).status();
            drop(dir);
        }
    }
}

/// Whether the fallbacks were asked for; panics with how to ask if not.
fn fallback_allowed(what: &str) {
    assert!(
        std::env::var_os("SELFHEAL_TESTS_WITHOUT_MOUNT").is_some_and(|v| v == "1"),
        "cannot mount a tmpfs here (run as root), so {what} is not tested; \
         set SELFHEAL_TESTS_WITHOUT_MOUNT=1 to accept the fallback"
    );
    eprintln!("FALLBACK (SELFHEAL_TESTS_WITHOUT_MOUNT=1): {what} is not tested for real");
}

/// Valid text larger than `bytes`.
fn big_input(bytes: usize) -> String {
    let mut text = String::from("# HELP jobs_running Jobs.\n# TYPE jobs_running gauge\n");
    let mut i = 0;
    while text.len() < bytes {
        let _ = writeln!(text, "jobs_running{{pool=\"pool-{i:08}\"}} {i}");
        i += 1;
    }
    text
}

#[test]
fn a_full_filesystem_leaves_the_old_file() {
    let input = big_input(256 * 1024);
    if let Some(mount) = Mount::tmpfs("64k") {
        let path = mount.path().join("jobs.prom");
        fs::write(&path, OLD).expect("write old file");
        let run = Cmd::new(BIN)
            .arg("--output")
            .arg(&path)
            .stdin(input)
            .run()
            .expect_code(2)
            .stdout_has("No space left on device");
        assert_eq!(fs::read(&path).expect("read"), OLD.as_bytes(), "{run}");
        assert_eq!(names_in(mount.path()), vec!["jobs.prom"], "{run}");
        return;
    }
    // Simulated with a file-size limit (ulimit -f, SIGXFSZ ignored: EFBIG).
    fallback_allowed("a full filesystem");
    let target = Target::new();
    let script = "trap '' XFSZ; ulimit -f 16; exec \"$0\" --output \"$1\"";
    let run = Cmd::new("sh")
        .args(["-c", script, BIN])
        .arg(&target.path)
        .stdin(input)
        .run()
        .expect_code(2)
        .stdout_has("File too large");
    target.assert_untouched(&run);
}

#[test]
fn a_read_only_filesystem_leaves_the_old_file() {
    let Some(mount) = Mount::tmpfs("1m") else {
        // Only the permission error is tested instead.
        fallback_allowed("a read-only filesystem");
        return a_directory_we_may_not_write_leaves_the_old_file();
    };
    let path = mount.path().join("jobs.prom");
    fs::write(&path, OLD).expect("write old file");
    mount.remount_read_only();
    let run = Cmd::new(BIN)
        .arg("--output")
        .arg(&path)
        .stdin(NEW)
        .run()
        .expect_code(2)
        .stdout_has("Read-only file system");
    assert_eq!(fs::read(&path).expect("read"), OLD.as_bytes(), "{run}");
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}

#[test]
fn a_directory_we_may_not_write_leaves_the_old_file() {
    let target = Target::new();
    let run = if is_root() {
        // Root ignores directory permissions: run as nobody instead.
        require("setpriv", "util-linux");
        fs::set_permissions(
            target.dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        Cmd::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                BIN,
                "--output",
            ])
            .arg(&target.path)
            .stdin(NEW)
            .run()
    } else {
        fs::set_permissions(
            target.dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o555),
        )
        .expect("chmod");
        target.write(NEW, &[])
    };
    let run = run.expect_code(2).stdout_has("Permission denied");
    target.assert_untouched(&run);
}
