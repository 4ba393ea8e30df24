use super::*;
use std::net::TcpListener;

// A llama-server child of `ollama serve` (pid 812), as /proc/<pid>/stat shows it.
const RUNNER_STAT: &str = "4242 (llama-server) S 812 812 812 0 -1 4194560 95 0 0 0 1500 250 0 0 20 0 9 0 12345 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0";

fn argv(line: &str) -> Vec<String> {
    line.split(' ').map(str::to_owned).collect()
}

#[test]
fn runners_of_every_ollama_generation_are_recognised() {
    let v030 = argv(
        "/usr/lib/ollama/llama-server --model /usr/share/ollama/.ollama/models/blobs/sha256-6a0746 --port 40123 --host 127.0.0.1 --no-webui --offline",
    );
    assert_eq!(
        runner_args("llama-server", &v030),
        Some((
            Some(40123),
            "/usr/share/ollama/.ollama/models/blobs/sha256-6a0746".into()
        ))
    );
    let v05 = argv(
        "/usr/local/bin/ollama runner --model /m/blobs/sha256-aa --ctx-size 8192 --port 35555",
    );
    assert_eq!(
        runner_args("ollama", &v05),
        Some((Some(35555), "/m/blobs/sha256-aa".into()))
    );
    let v03 = argv(
        "/tmp/ollama123/runners/cuda_v12/ollama_llama_server --model /m/blobs/sha256-bb --port 1",
    );
    assert_eq!(
        runner_args("ollama_llama_se", &v03).unwrap().1,
        "/m/blobs/sha256-bb"
    );
    assert_eq!(
        runner_args("ollama", &argv("/usr/local/bin/ollama serve")),
        None
    );
    assert_eq!(runner_args("bash", &argv("bash -c llama-server")), None);
}

const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2CAA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   998        0 31337 1 0000000000000000 100 0 0 10 0
   1: 0100007F:2CAA 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000   998        0 31338 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1999 1 0000000000000000 100 0 0 10 0
";

#[test]
fn listening_sockets_by_port() {
    assert_eq!(listening_inodes(TCP, 11434), vec![31337]);
    assert_eq!(listening_inodes(TCP, 22), vec![1999]);
    assert!(listening_inodes(TCP, 80).is_empty());
}

#[test]
fn systemd_units_from_cgroups() {
    assert_eq!(
        unit_from_cgroup("0::/system.slice/ollama.service\n"),
        Some(("ollama.service".into(), false))
    );
    assert_eq!(
        unit_from_cgroup(
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/ollama.service\n"
        ),
        Some(("ollama.service".into(), true))
    );
    assert_eq!(
        unit_from_cgroup("12:pids:/x\n1:name=systemd:/system.slice/ollama.service\n"),
        Some(("ollama.service".into(), false))
    );
    assert_eq!(
        unit_from_cgroup("0::/system.slice/docker-abc.scope\n"),
        None
    );
    assert_eq!(unit_from_cgroup("0::/\n"), None);
}

/// A fixture /proc: server 812 (in ollama.service) holding the listening
/// socket, runner 4242 its child, runner 5000 orphaned to pid 1.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("net")).unwrap();
    fs::write(root.join("net/tcp"), TCP).unwrap();
    fs::write(root.join("uptime"), "1000.50 1800.00\n").unwrap();
    let proc_dir = |pid: u32, stat: &str, cmd: &str| {
        let d = root.join(pid.to_string());
        fs::create_dir_all(d.join("fd")).unwrap();
        fs::write(d.join("stat"), stat).unwrap();
        let comm = &stat[stat.find('(').unwrap() + 1..stat.rfind(')').unwrap()];
        fs::write(d.join("comm"), format!("{comm}\n")).unwrap();
        fs::write(d.join("cmdline"), cmd.replace(' ', "\0") + "\0").unwrap();
        d
    };
    let server_stat = RUNNER_STAT
        .replace("4242 (llama-server) S 812", "812 (ollama) S 1")
        .replace(" 12345 ", " 50050 ");
    let server = proc_dir(812, &server_stat, "/usr/local/bin/ollama serve");
    fs::write(server.join("cgroup"), "0::/system.slice/ollama.service\n").unwrap();
    std::os::unix::fs::symlink("socket:[31337]", server.join("fd/3")).unwrap();
    proc_dir(
        4242,
        RUNNER_STAT,
        "/usr/lib/ollama/llama-server --model /b/sha256-1 --port 40123",
    );
    let orphan = RUNNER_STAT.replace("4242 (llama-server) S 812", "5000 (llama-server) S 1");
    proc_dir(
        5000,
        &orphan,
        "/usr/lib/ollama/llama-server --model /b/sha256-2 --port 40124",
    );
    dir
}

#[test]
fn a_fixture_tree_gives_server_unit_and_runners() {
    let dir = fixture();
    let view = look(dir.path(), 11434, None);
    assert_eq!(view.listening, Some(true));
    let server = view.server.unwrap();
    assert_eq!(
        (server.pid, server.unit.as_deref()),
        (812, Some("ollama.service"))
    );
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    assert!((server.age_secs - (1000.5 - 50050.0 / ticks)).abs() < 1e-6);
    let mut runners: Vec<(u32, u32, Option<u16>)> = view
        .runners
        .iter()
        .map(|r| (r.pid, r.ppid, r.port))
        .collect();
    runners.sort_unstable();
    assert_eq!(runners, [(4242, 812, Some(40123)), (5000, 1, Some(40124))]);
    let orphans: Vec<u32> = view.orphans.iter().map(|r| r.pid).collect();
    assert_eq!(orphans, [5000]);
    let nothing = look(dir.path(), 9, None);
    assert_eq!(
        (nothing.listening, nothing.server.is_none()),
        (Some(false), true)
    );
    assert_eq!(look(&dir.path().join("missing"), 1, None).listening, None);
}

#[test]
fn the_real_proc_finds_this_process_listening() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let view = look(Path::new("/proc"), port, None);
    assert_eq!(view.listening, Some(true));
    assert_eq!(view.server.map(|s| s.pid), Some(std::process::id()));
}

fn runner_of(pid: u32, parent: u32) -> Runner {
    Runner {
        pid,
        ppid: parent,
        state: 'S',
        cpu_ticks: 0,
        port: Some(40000),
        model: "/m/blobs/sha256-aa".into(),
    }
}

#[test]
fn runners_of_another_server_are_never_taken_for_this_ones() {
    let pids = |v: &View| -> Vec<u32> { server_runners(v).iter().map(|r| r.pid).collect() };
    let mut view = View {
        runners: vec![runner_of(10, 1), runner_of(20, 2)],
        ..View::default()
    };
    // The server is another user's (its fd/ unreadable): two parents, no telling.
    assert!(pids(&view).is_empty());
    view.runners.pop();
    assert_eq!(pids(&view), [10], "one Ollama on the box: its runners");
    view.runners.push(runner_of(20, 2));
    view.server = Some(Server {
        pid: 2,
        comm: "ollama".into(),
        state: 'S',
        cpu_ticks: 0,
        age_secs: 1.0,
        unit: None,
        user_unit: false,
    });
    assert_eq!(pids(&view), [20]);
}
