//! `trend --cgroup` on a cgroup v2 fixture tree (the build machines run
//! cgroup v1 with no writable v2 controllers): the files are rewritten
//! between runs as the kernel would update them.

mod common;

use common::probe;
use std::path::Path;

fn write_cgroup(dir: &Path, usage_usec: u64, memory: u64, cpu_stall_us: u64) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("cpu.stat"),
        format!("usage_usec {usage_usec}\nuser_usec {usage_usec}\nsystem_usec 0\n"),
    )
    .unwrap();
    std::fs::write(dir.join("memory.current"), format!("{memory}\n")).unwrap();
    std::fs::write(dir.join("cpu.max"), "50000 100000\n").unwrap();
    let psi = |total: u64| {
        format!(
            "some avg10=0.00 avg60=0.00 avg300=0.00 total={total}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        )
    };
    std::fs::write(dir.join("cpu.pressure"), psi(cpu_stall_us)).unwrap();
    std::fs::write(dir.join("memory.pressure"), psi(0)).unwrap();
}

#[test]
fn a_cgroup_whose_memory_only_grows_is_leaking() {
    let root = selfheal_test_support::tempdir().unwrap();
    let state = selfheal_test_support::tempdir().unwrap();
    let cgroup = root.path().join("system.slice/trader.service");
    let run = |format: &str| {
        probe()
            .args([
                "trend",
                "--cgroup",
                "/system.slice/trader.service",
                "--min-samples",
                "3",
                "--format",
                format,
                "--cgroup-root",
            ])
            .arg(root.path())
            .arg("--state-dir")
            .arg(state.path())
            .run()
    };
    for (i, code) in [(0_u64, 0), (1, 0), (2, 1), (3, 1)] {
        write_cgroup(&cgroup, 1_000 * i, (100 + 50 * i) << 20, 10 * i);
        let out = run("prom").expect_code(code);
        if code == 1 {
            assert!(out.stdout.contains("class=\"leaking\"} 1"), "{out}");
            assert!(
                out.stdout.contains(
                    "selfheal_stall_probe_cpu_limit_cores{key=\"/system.slice/trader.service\"} 0.5"
                ),
                "{out}"
            );
            assert!(out.stdout.contains("resource=\"cpu\"}"), "{out}");
        }
    }
    std::fs::remove_file(cgroup.join("memory.current")).unwrap();
    run("text").expect_code(3).stdout_has("memory.current");
}
