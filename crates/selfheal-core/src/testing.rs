//! For unit tests that change what is process-wide (environment, signal
//! dispositions): they run in a process of their own, so the other tests
//! running in parallel threads cannot see the change.

/// Whether this is the test's own process. If not, runs the test `name`
/// (its full path, e.g. `cli::tests::x`) alone in a child process with
/// `env` set, asserts it passed, and returns false: the caller returns.
pub fn in_own_process(name: &str, env: &[(&str, &str)]) -> bool {
    if std::env::var_os("SELFHEAL_TEST_ONLY_CHILD").is_some() {
        return true;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", name, "--test-threads", "1"])
        .env("SELFHEAL_TEST_ONLY_CHILD", "1")
        .envs(env.iter().copied())
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} failed in its own process: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    false
}
