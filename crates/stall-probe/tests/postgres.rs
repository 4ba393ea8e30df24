//! `age --query` against a real PostgreSQL cluster started for each test.

mod common;

use common::{json, probe};
use selfheal_test_support::Cmd;
use selfheal_test_support::postgres::PgCluster;

const SCHEMA: &str = "
CREATE TABLE decisions (symbol text NOT NULL, decided_at timestamptz NOT NULL);
INSERT INTO decisions SELECT s, now() - interval '10 seconds'
  FROM unnest(ARRAY['BTC', 'ETH', 'SOL', 'ADA', 'XRP']) AS s;
INSERT INTO decisions VALUES ('DOGE', now() - interval '30 minutes');";

const PER_SYMBOL: &str = "SELECT symbol, max(decided_at) FROM decisions GROUP BY symbol";

fn cluster() -> PgCluster {
    let pg = PgCluster::start();
    let _ = pg.psql(SCHEMA);
    pg
}

/// The probe, connecting over the cluster's socket as the superuser.
fn over_socket(pg: &PgCluster) -> Cmd {
    probe()
        .env("PGHOST", pg.socket_dir())
        .env("PGPORT", pg.port().to_string())
        .env("PGUSER", "postgres")
        .env("PGDATABASE", "postgres")
        .arg("age")
}

#[test]
fn one_query_judges_every_key_and_names_the_stalled_one() {
    let pg = cluster();
    let run = over_socket(&pg)
        .args([
            "--query", PER_SYMBOL, "--warn", "1m", "--crit", "5m", "--format", "json",
        ])
        .run()
        .expect_code(2);
    let report = json(&run);
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .starts_with("6 keys: 1 critical, 0 warning, 5 ok; DOGE: last progress 30m"),
        "{run}"
    );
    let keys = report["details"]["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 6, "{run}");
    for key in keys {
        let (name, age) = (
            key["key"].as_str().unwrap(),
            key["age_seconds"].as_f64().unwrap(),
        );
        let expected = if name == "DOGE" { "critical" } else { "ok" };
        assert_eq!(key["status"], expected, "{name}: {run}");
        assert!(
            if name == "DOGE" {
                (1799.0..1900.0).contains(&age)
            } else {
                (9.0..60.0).contains(&age)
            },
            "{name} {age}"
        );
    }
    let prom = over_socket(&pg)
        .args(["--query", PER_SYMBOL, "--crit", "5m", "--format", "prom"])
        .run()
        .expect_code(2);
    assert!(
        prom.stdout
            .contains("selfheal_stall_probe_key_status{key=\"DOGE\"} 2"),
        "{prom}"
    );
    assert!(
        prom.stdout
            .contains("selfheal_stall_probe_key_status{key=\"BTC\"} 0"),
        "{prom}"
    );
    // A symbol that never decided anything has no row: --expect-key names it.
    over_socket(&pg)
        .args([
            "--query",
            PER_SYMBOL,
            "--crit",
            "1h",
            "--expect-key",
            "BTC",
            "--expect-key",
            "LTC",
        ])
        .run()
        .expect_code(2)
        .stdout_has("LTC: no progress recorded (no row for this key)");
}

#[test]
fn one_value_with_bound_parameters_and_ages_in_seconds() {
    let pg = cluster();
    let one = "SELECT max(decided_at) FROM decisions WHERE symbol = $1";
    over_socket(&pg)
        .args([
            "--query", one, "--param", "BTC", "--crit", "1m", "--name", "BTC",
        ])
        .run()
        .expect_code(0)
        .stdout_has("BTC: last progress");
    over_socket(&pg)
        .args(["--query", one, "--param", "DOGE", "--crit", "1m"])
        .run()
        .expect_code(2);
    let seconds = "SELECT extract(epoch FROM now() - max(decided_at))::float8 FROM decisions WHERE symbol = $1";
    over_socket(&pg)
        .args([
            "--query", seconds, "--param", "DOGE", "--warn", "10m", "--crit", "1h",
        ])
        .run()
        .expect_code(1);
    let interval = "SELECT symbol, max(decided_at) FROM decisions WHERE decided_at > now() - $1::interval GROUP BY symbol";
    let run = over_socket(&pg)
        .args([
            "--query", interval, "--param", "1 minute", "--crit", "1m", "--format", "json",
        ])
        .run()
        .expect_code(0);
    assert_eq!(
        json(&run)["details"]["keys"].as_array().unwrap().len(),
        5,
        "{run}"
    );
}

#[test]
fn parameters_cannot_inject_and_the_transaction_is_read_only() {
    let pg = cluster();
    let one = "SELECT max(decided_at) FROM decisions WHERE symbol = $1";
    // Pasted into the SQL, this would match every row and be fresh (OK).
    over_socket(&pg)
        .args(["--query", one, "--param", "x' OR '1'='1", "--crit", "1m"])
        .run()
        .expect_code(2)
        .stdout_has("no progress recorded (the query returned NULL)");
    over_socket(&pg)
        .args([
            "--query",
            one,
            "--param",
            "BTC'; DROP TABLE decisions; --",
            "--crit",
            "1m",
        ])
        .run()
        .expect_code(2);
    over_socket(&pg)
        .args([
            "--query",
            "DELETE FROM decisions RETURNING decided_at",
            "--crit",
            "1m",
        ])
        .run()
        .expect_code(3)
        .stdout_has("read-only transaction");
    assert_eq!(pg.psql("SELECT count(*) FROM decisions").trim(), "6");
    over_socket(&pg)
        .args(["--query", one, "--crit", "1m"])
        .run()
        .expect_code(3)
        .stdout_has("1 parameter(s) ($1...) but 0 --param value(s)");
}

#[test]
fn wrong_types_slow_queries_and_a_stopped_server_are_unknown() {
    let pg = cluster();
    over_socket(&pg)
        .args([
            "--query",
            "SELECT symbol, 'yesterday'::text FROM decisions",
            "--crit",
            "1m",
        ])
        .run()
        .expect_code(3)
        .stdout_has("column \"text\" is text, not a time");
    over_socket(&pg)
        .args([
            "--query",
            "SELECT extract(epoch FROM now())",
            "--crit",
            "1m",
        ])
        .run()
        .expect_code(3)
        .stdout_has("is numeric, not a time");
    over_socket(&pg)
        .args([
            "--query",
            "SELECT g::text, now() FROM generate_series(1, 100000) AS g",
            "--crit",
            "1m",
        ])
        .run()
        .expect_code(3)
        .stdout_has("more than 1000 rows");
    // A server or role set to another time zone: `timestamp` values the
    // query makes are still read right (was 5h off for New York).
    let _ = pg.psql("ALTER ROLE postgres SET TimeZone = 'America/New_York'");
    over_socket(&pg)
        .args(["--query", "SELECT localtimestamp", "--crit", "1m"])
        .run()
        .expect_code(0)
        .stdout_has("ago (query timestamp)");
    let _ = pg.psql("ALTER ROLE postgres RESET TimeZone");
    over_socket(&pg)
        .args(["--query", "SELECT NULL::text, now()", "--crit", "1m"])
        .run()
        .expect_code(3)
        .stdout_has("returned a NULL key");
    // Rows that repeat a key would print the same metric series twice (a
    // scrape rejects the whole file): refused, saying how to fix the query.
    over_socket(&pg)
        .args([
            "--query",
            "SELECT symbol, decided_at FROM decisions UNION ALL SELECT 'BTC', now()",
            "--crit",
            "1m",
        ])
        .run()
        .expect_code(3)
        .stdout_has("in more than one row: return one row per key");
    over_socket(&pg)
        .args([
            "--query",
            "SELECT decided_at FROM decisions",
            "--crit",
            "1m",
        ])
        .run()
        .expect_code(3)
        .stdout_has("rows of one column: return one row");
    let started = std::time::Instant::now();
    over_socket(&pg)
        .args([
            "--query",
            "SELECT now() FROM pg_sleep(10)",
            "--statement-timeout",
            "300ms",
            "--crit",
            "1m",
        ])
        .run()
        .expect_code(3)
        .stdout_has("statement timeout");
    assert!(started.elapsed().as_secs() < 5);
    let dir = selfheal_test_support::tempdir().unwrap();
    let textfile = dir.path().join("stall.prom");
    over_socket(&pg)
        .args(["--query", PER_SYMBOL, "--crit", "1h", "--textfile"])
        .arg(&textfile)
        .run()
        .expect_code(0);
    let before = std::fs::read_to_string(&textfile).unwrap();
    pg.stop();
    over_socket(&pg)
        .args(["--query", PER_SYMBOL, "--crit", "1h", "--textfile"])
        .arg(&textfile)
        .run()
        .expect_code(3)
        .stdout_has("cannot connect to PostgreSQL")
        .stderr_has("left as it was");
    assert_eq!(std::fs::read_to_string(&textfile).unwrap(), before);
}

#[test]
fn a_password_appears_in_no_output_right_or_wrong() {
    let pg = cluster();
    let right = "Pw-right-7Qz";
    let wrong = "Pw-wrong-9Xk";
    let _ = pg.psql(&format!(
        "CREATE ROLE agent LOGIN PASSWORD '{right}'; GRANT SELECT ON decisions TO agent;"
    ));
    let dir = selfheal_test_support::tempdir().unwrap();
    let port = pg.port().to_string();
    let dsn = |password: &str| {
        format!("host=127.0.0.1 port={port} user=agent password={password} dbname=postgres")
    };
    let url = |password: &str| format!("postgresql://agent:{password}@127.0.0.1:{port}/postgres");
    let pgpass = dir.path().join("pgpass");
    let textfile = dir.path().join("out.prom");
    let mut runs = Vec::new();
    for (password, code) in [(right, 0), (wrong, 3)] {
        let dsn_file = dir.path().join(format!("dsn-{code}"));
        std::fs::write(&dsn_file, dsn(password)).unwrap();
        std::fs::write(
            &pgpass,
            format!("127.0.0.1:{port}:postgres:agent:{password}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        for format in ["text", "json", "prom"] {
            let base = || {
                probe()
                    .args([
                        "age",
                        "--query",
                        PER_SYMBOL,
                        "--crit",
                        "1h",
                        "--format",
                        format,
                        "--textfile",
                    ])
                    .arg(&textfile)
            };
            let tcp_env = |cmd: Cmd| {
                cmd.env("PGHOST", "127.0.0.1")
                    .env("PGPORT", &port)
                    .env("PGUSER", "agent")
                    .env("PGDATABASE", "postgres")
            };
            runs.push(
                base()
                    .arg("--dsn-file")
                    .arg(&dsn_file)
                    .run()
                    .expect_code(code),
            );
            runs.push(
                base()
                    .env("DATABASE_URL", url(password))
                    .run()
                    .expect_code(code),
            );
            runs.push(
                tcp_env(base())
                    .env("PGPASSWORD", password)
                    .run()
                    .expect_code(code),
            );
            runs.push(
                tcp_env(base())
                    .env("PGPASSFILE", &pgpass)
                    .run()
                    .expect_code(code),
            );
        }
    }
    let failed = runs.iter().find(|r| r.code() == 3).unwrap();
    assert!(
        failed
            .stdout
            .contains("password authentication failed for user \"agent\""),
        "{failed}"
    );
    for run in &runs {
        for password in [right, wrong] {
            assert!(
                !run.stdout.contains(password) && !run.stderr.contains(password),
                "password {password} printed\n{run}"
            );
        }
    }
    let written = std::fs::read_to_string(&textfile).unwrap();
    assert!(
        written.contains("selfheal_stall_probe_progress_age_seconds{key=\"BTC\"}"),
        "{written}"
    );
    assert!(!written.contains(right) && !written.contains(wrong));
}
