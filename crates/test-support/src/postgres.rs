//! A throwaway PostgreSQL cluster for tests: `initdb` into a temp dir from
//! Debian's binaries (`/usr/lib/postgresql/<version>/bin`), a unix socket in
//! that dir and a random loopback port, stopped on `Drop`. initdb refuses to
//! run as root, so as root everything runs as the `postgres` user.
//!
//! Local (socket) connections are trusted; TCP connections need a password
//! (scram-sha-256), so tests can check what happens with a wrong one.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster; stopped (immediate mode) when dropped.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
}

/// The newest `/usr/lib/postgresql/*/bin` holding initdb.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: \
         run scripts/test (it installs them) or `apt-get install postgresql`",
    )
}

/// uid and gid of `postgres` from /etc/passwd.
fn postgres_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres"))
                .then(|| (fields[2].parse().unwrap(), fields[3].parse().unwrap()))
        })
        .expect("no postgres user: `apt-get install postgresql` creates it")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgCluster {
    /// Creates and starts a cluster; panics with the server log on failure.
    #[must_use]
    pub fn start() -> PgCluster {
        let dir = tempfile::Builder::new()
            .prefix("selfheal-pg-")
            .tempdir()
            .expect("temp dir");
        let run_as = std::fs::metadata("/proc/self")
            .ok()
            .filter(|m| std::os::unix::fs::MetadataExt::uid(m) == 0)
            .map(|_| postgres_ids());
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("chown temp dir to postgres");
        }
        let mut cluster = PgCluster {
            dir,
            bin: bin_dir(),
            port: 0,
            run_as,
        };
        cluster.initdb();
        for _ in 0..5 {
            cluster.port = free_port();
            if cluster.pg_ctl_start() {
                return cluster;
            }
        }
        let log =
            std::fs::read_to_string(cluster.dir.path().join("server.log")).unwrap_or_default();
        panic!("PostgreSQL did not start; server log:\n{log}");
    }

    /// The directory holding the unix socket (use as PGHOST / host=).
    #[must_use]
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = match self.run_as {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.args([
                    format!("--reuid={uid}"),
                    format!("--regid={gid}"),
                    "--clear-groups".into(),
                ]);
                c.arg(path);
                c
            }
            None => Command::new(path),
        };
        command
            .env_remove("PGPASSWORD")
            .env_remove("DATABASE_URL")
            .current_dir("/");
        command
    }

    fn run(mut command: Command, what: &str) -> String {
        let out = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn initdb(&self) {
        let mut command = self.command("initdb");
        command.arg("-D").arg(self.dir.path().join("data"));
        command.args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
        command.args(["--auth-local=trust", "--auth-host=scram-sha-256"]);
        Self::run(command, "initdb");
    }

    fn pg_ctl_start(&self) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=20",
            self.port,
            self.dir.path().display()
        );
        let mut command = self.command("pg_ctl");
        command.arg("-D").arg(self.dir.path().join("data"));
        command.arg("-l").arg(self.dir.path().join("server.log"));
        command.args(["-w", "-t", "60", "-o", &options, "start"]);
        command.output().is_ok_and(|out| out.status.success())
    }

    /// Runs SQL as the superuser over the socket; returns psql's unaligned output.
    #[must_use]
    pub fn psql(&self, sql: &str) -> String {
        let mut command = self.command("psql");
        command.arg("-h").arg(self.dir.path());
        command.args([
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ]);
        command.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        Self::run(command, &format!("psql -c {sql:?}"))
    }

    /// Stops the server now (a test of "the database is down").
    pub fn stop(&self) {
        let mut command = self.command("pg_ctl");
        command.arg("-D").arg(self.dir.path().join("data"));
        command.args(["-m", "immediate", "-w", "stop"]);
        let _ = command.output();
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}
