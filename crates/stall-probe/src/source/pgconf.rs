//! Where the PostgreSQL connection comes from, as libpq users expect:
//! `--dsn-file` (a conninfo string or URL in a file), else `DATABASE_URL`,
//! then the `PG*` variables fill what is unset, and a password still
//! missing is looked up in `PGPASSFILE` (default `~/.pgpass`). The
//! connection string and password are never printed: [`Secrets`] redacts
//! them from every message.

use postgres::config::Host;
use std::path::{Path, PathBuf};

/// Strings that must never reach output, replaced by `***`.
#[derive(Debug, Default, Clone)]
pub struct Secrets(Vec<String>);

impl Secrets {
    pub fn add(&mut self, secret: &str) {
        if !secret.is_empty() && !self.0.iter().any(|s| s == secret) {
            self.0.push(secret.to_owned());
            // Longest first, so a secret holding another is replaced whole.
            self.0.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    #[must_use]
    pub fn redact(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |acc, secret| {
            acc.replace(secret.as_str(), "***")
        })
    }
}

/// The environment the connection settings are read from (a map in tests).
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

/// The settings to connect with, and the secrets to keep out of output.
pub fn resolve(
    dsn_file: Option<&Path>,
    env: &dyn Env,
    secrets: &mut Secrets,
) -> anyhow::Result<postgres::Config> {
    let dsn = match dsn_file {
        Some(path) => Some(read_dsn_file(path)?),
        None => env.var("DATABASE_URL"),
    };
    let mut config = match &dsn {
        Some(text) => {
            secrets.add(text.trim());
            secrets.extend_from_dsn(text);
            text.trim().parse::<postgres::Config>().map_err(|e| {
                anyhow::anyhow!(
                    "the connection string (from {}) is invalid: {}",
                    dsn_file.map_or("DATABASE_URL".into(), |p| p.display().to_string()),
                    secrets.redact(&e.to_string())
                )
            })?
        }
        None => postgres::Config::new(),
    };
    fill_from_env(&mut config, env)?;
    if config.get_password().is_none() {
        if let Some(password) = env.var("PGPASSWORD") {
            config.password(password);
        } else if let Some(password) = pgpass_lookup(&config, env) {
            config.password(password);
        }
    }
    if let Some(password) = config.get_password() {
        secrets.add(&String::from_utf8_lossy(password));
    }
    Ok(config)
}

impl Secrets {
    /// A URL's `user:password@` and a conninfo's `password=...`.
    fn extend_from_dsn(&mut self, dsn: &str) {
        if let Some(rest) = dsn.split_once("://").map(|(_, r)| r)
            && let Some((userinfo, _)) = rest.split_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
        {
            self.add(password);
        }
        for part in dsn.split_whitespace() {
            if let Some(value) = part.strip_prefix("password=") {
                self.add(value.trim_matches('\''));
            }
        }
    }
}

fn read_dsn_file(path: &Path) -> anyhow::Result<String> {
    use std::io::Read as _;
    super::file::refuse_foreign_symlink("--dsn-file", path)?;
    let mut file = selfheal_core::atomic::open_regular(
        &std::fs::canonicalize(path)
            .map_err(|e| anyhow::anyhow!("--dsn-file {}: {e}", path.display()))?,
        std::fs::OpenOptions::new().read(true),
    )
    .map_err(|e| anyhow::anyhow!("--dsn-file {}: {e}", path.display()))?;
    let mut text = String::new();
    (&mut file).take(16 * 1024).read_to_string(&mut text)?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    line.map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("--dsn-file {} holds no connection string", path.display()))
}

fn fill_from_env(config: &mut postgres::Config, env: &dyn Env) -> anyhow::Result<()> {
    if config.get_hosts().is_empty() {
        let host = env
            .var("PGHOST")
            .unwrap_or_else(|| "/var/run/postgresql".into());
        for one in host.split(',') {
            if one.starts_with('/') {
                config.host_path(one);
            } else {
                config.host(one);
            }
        }
    }
    if config.get_ports().is_empty()
        && let Some(port) = env.var("PGPORT")
    {
        let port: u16 = port
            .parse()
            .map_err(|_| anyhow::anyhow!("PGPORT={port:?} is not a port number"))?;
        config.port(port);
    }
    if config.get_user().is_none() {
        let user = env
            .var("PGUSER")
            .or_else(|| env.var("USER"))
            .or_else(|| env.var("LOGNAME"))
            .unwrap_or_else(|| "postgres".into());
        config.user(&user);
    }
    if config.get_dbname().is_none()
        && let Some(db) = env.var("PGDATABASE")
    {
        config.dbname(&db);
    }
    Ok(())
}

/// The password for `config` from the pgpass file, as libpq finds it.
/// Like libpq, a file others may read is ignored.
fn pgpass_lookup(config: &postgres::Config, env: &dyn Env) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = match env.var("PGPASSFILE") {
        Some(p) => PathBuf::from(p),
        None => Path::new(&env.var("HOME")?).join(".pgpass"),
    };
    let file =
        selfheal_core::atomic::open_regular(&path, std::fs::OpenOptions::new().read(true)).ok()?;
    if file.metadata().ok()?.permissions().mode() & 0o077 != 0 {
        return None;
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(file, 1 << 20), &mut text).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        _ => "localhost".into(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    pgpass_find(&text, [&host, &port, db, user])
}

/// The first pgpass line (`host:port:db:user:password`, `*` matches
/// anything, `\:` and `\\` escape) matching `want`.
#[must_use]
pub fn pgpass_find(text: &str, want: [&str; 4]) -> Option<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .find_map(|line| {
            let fields = split_pgpass(line);
            let [h, p, d, u, password] = fields.as_slice() else {
                return None;
            };
            let matches = [h, p, d, u]
                .iter()
                .zip(want)
                .all(|(field, value)| field.as_str() == "*" || field.as_str() == value);
            matches.then(|| password.clone())
        })
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().unwrap().extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            _ => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// `user@host:port/db`, for messages: everything but the secret.
#[must_use]
pub fn describe(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "?".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("?");
    format!(
        "{user}@{host}:{port}/{}",
        config.get_dbname().unwrap_or(user)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, String>);

    impl Env for MapEnv {
        fn var(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
    }

    #[test]
    fn pgpass_matches_fields_wildcards_and_escapes() {
        let text = "# comment\nother:5432:*:*:nope\nlocalhost:5433:trades:agent:s3cr\\:et\n*:*:*:*:fallback\n";
        assert_eq!(
            pgpass_find(text, ["localhost", "5433", "trades", "agent"]).as_deref(),
            Some("s3cr:et")
        );
        assert_eq!(
            pgpass_find(text, ["db1", "5432", "x", "y"]).as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_find("a:b:c:d\n", ["a", "b", "c", "d"]), None);
    }

    #[test]
    fn pg_variables_fill_what_the_url_leaves_unset() {
        let env = MapEnv(HashMap::from([
            (
                "DATABASE_URL",
                "postgresql://agent:hunter2@db.local/trades".to_owned(),
            ),
            ("PGUSER", "ignored".to_owned()),
        ]));
        let mut secrets = Secrets::default();
        let config = resolve(None, &env, &mut secrets).unwrap();
        assert_eq!(describe(&config), "agent@db.local:5432/trades");
        assert_eq!(config.get_password(), Some(&b"hunter2"[..]));
        let message = "failed for postgresql://agent:hunter2@db.local/trades (hunter2)";
        assert!(
            !secrets.redact(message).contains("hunter2"),
            "{}",
            secrets.redact(message)
        );
    }

    #[test]
    fn pgpassword_and_defaults_without_a_url() {
        let env = MapEnv(HashMap::from([
            ("PGPASSWORD", "pw-1".to_owned()),
            ("USER", "trader".to_owned()),
            ("PGHOST", "/run/pg".to_owned()),
            ("PGPORT", "6543".to_owned()),
        ]));
        let mut secrets = Secrets::default();
        let config = resolve(None, &env, &mut secrets).unwrap();
        assert_eq!(describe(&config), "trader@/run/pg:6543/trader");
        assert_eq!(secrets.redact("x pw-1 y"), "x *** y");
    }

    #[test]
    fn a_bad_connection_string_is_reported_without_its_password() {
        let env = MapEnv(HashMap::from([(
            "DATABASE_URL",
            "host=x password=topsecret port=notaport".to_owned(),
        )]));
        let err = resolve(None, &env, &mut Secrets::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("DATABASE_URL"), "{err}");
        assert!(!err.contains("topsecret"), "{err}");
    }
}
