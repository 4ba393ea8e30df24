//! `--query SQL`: the last progress recorded in PostgreSQL. The query runs
//! in a read-only transaction under a statement timeout, with `--param`
//! values bound as parameters (`$1`, `$2`, ...), never pasted into the SQL.
//! It returns either one value (a timestamp, or an age in seconds) or rows
//! of (key, value), one per worker. The whole exchange has a deadline: a
//! database that stops answering cannot hold the probe.

use super::pgconf::{self, Secrets};
use crate::progress::Progress;
use postgres::fallible_iterator::FallibleIterator as _;
use postgres::types::{ToSql, Type};
use postgres::{NoTls, Row};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Most rows read: one per worker is the shape; more is a query to fix.
const MAX_ROWS: usize = 1000;

#[derive(Debug, Clone, clap::Args)]
pub struct PgArgs {
    /// Progress source: SQL returning one timestamp (or age in seconds), or
    /// rows of (key, timestamp) for one verdict per key
    #[arg(
        long,
        value_name = "SQL",
        env = "STALL_PROBE_QUERY",
        help_heading = "Sources"
    )]
    pub query: Option<String>,
    /// A value for $1, $2, ... in --query (repeat in order); bound, never pasted in
    #[arg(long, value_name = "VALUE", requires = "query")]
    pub param: Vec<String>,
    /// A file holding the connection string (key=value or postgresql:// URL)
    /// [default: $DATABASE_URL, then the PG* variables and PGPASSFILE]
    #[arg(
        long,
        value_name = "PATH",
        env = "STALL_PROBE_DSN_FILE",
        requires = "query"
    )]
    pub dsn_file: Option<PathBuf>,
    /// A key --query must return (repeat): a missing key is CRITICAL
    #[arg(long, value_name = "KEY", requires = "query")]
    pub expect_key: Vec<String>,
    /// Time allowed to connect
    #[arg(long, default_value = "5s", value_parser = selfheal_core::duration::parse, env = "STALL_PROBE_CONNECT_TIMEOUT")]
    pub connect_timeout: Duration,
    /// Time allowed for the query (the server's statement_timeout)
    #[arg(long, default_value = "10s", value_parser = selfheal_core::duration::parse, env = "STALL_PROBE_STATEMENT_TIMEOUT")]
    pub statement_timeout: Duration,
}

/// One value the query returned for a key.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    At(SystemTime),
    AgeSeconds(f64),
    Null,
}

pub fn read(args: &PgArgs, sql: &str, single_key: &str) -> anyhow::Result<Vec<Progress>> {
    let mut secrets = Secrets::default();
    let config = pgconf::resolve(args.dsn_file.as_deref(), &pgconf::ProcessEnv, &mut secrets)?;
    let target = pgconf::describe(&config);
    let deadline = args.connect_timeout + args.statement_timeout + Duration::from_secs(2);
    let (sql, params, limit) = (sql.to_owned(), args.param.clone(), args.statement_timeout);
    let connect_timeout = args.connect_timeout;
    let (tx, rx) = std::sync::mpsc::channel();
    // The client has no overall deadline of its own: run it aside and stop
    // waiting when time is up (the thread ends with the process).
    std::thread::spawn(move || {
        let mut config = config;
        config.connect_timeout(connect_timeout);
        let _ = tx.send(fetch(&config, &sql, &params, limit));
    });
    let rows = match rx.recv_timeout(deadline) {
        Ok(result) => result.map_err(|e| anyhow::anyhow!("{}", secrets.redact(&e)))?,
        Err(_) => anyhow::bail!(
            "PostgreSQL {target} did not answer within {}",
            selfheal_core::duration::human(deadline)
        ),
    };
    one_row_per_key(&rows)?;
    let now = SystemTime::now();
    let mut readings: Vec<Progress> = rows
        .into_iter()
        .map(|(key, value)| progress(key.unwrap_or_else(|| single_key.to_owned()), &value, now))
        .collect();
    if readings.is_empty() && args.expect_key.is_empty() {
        anyhow::bail!(
            "--query returned no rows from {target}: nothing to judge (aggregate, e.g. SELECT max(ts) ..., to get a NULL instead)"
        );
    }
    for key in &args.expect_key {
        if !readings.iter().any(|p| &p.key == key) {
            readings.push(Progress::never(key, "no row for this key"));
        }
    }
    Ok(readings)
}

/// Two rows for one key would print two verdicts and two metric series
/// with the same labels, which a Prometheus scrape rejects whole.
fn one_row_per_key(rows: &[(Option<String>, Value)]) -> anyhow::Result<()> {
    if rows.len() > 1 && rows[0].0.is_none() {
        anyhow::bail!(
            "--query returned {} rows of one column: return one row (e.g. SELECT max(ts) ...), \
             or two columns (key, timestamp) for one row per key",
            rows.len()
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (key, _) in rows {
        if let Some(key) = key.as_deref().filter(|k| !seen.insert(*k)) {
            let shown: String = key.chars().take(60).collect();
            anyhow::bail!(
                "--query returned key {shown:?} in more than one row: return one row per key \
                 (e.g. SELECT key, max(ts) ... GROUP BY key)"
            );
        }
    }
    Ok(())
}

fn progress(key: String, value: &Value, now: SystemTime) -> Progress {
    match value {
        Value::At(at) => {
            let age = now
                .duration_since(*at)
                .map_or_else(|e| -e.duration().as_secs_f64(), |d| d.as_secs_f64());
            Progress::aged(key, age, "query timestamp")
        }
        Value::AgeSeconds(age) => Progress::aged(key, *age, "query age"),
        Value::Null => Progress::never(key, "the query returned NULL"),
    }
}

/// Connects, runs the query read-only, converts the rows. Errors are
/// plain strings so the caller can redact them.
fn fetch(
    config: &postgres::Config,
    sql: &str,
    params: &[String],
    statement_timeout: Duration,
) -> Result<Vec<(Option<String>, Value)>, String> {
    let target = pgconf::describe(config);
    let mut client = config
        .connect(NoTls)
        .map_err(|e| format!("cannot connect to PostgreSQL {target}: {}", error_text(&e)))?;
    let mut tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .map_err(|e| format!("PostgreSQL {target}: {}", error_text(&e)))?;
    // An integer we format, not user input: SET takes no bind parameters.
    // A `timestamp` without time zone is read as UTC, so the query's own
    // casts (`now()::timestamp`, `localtimestamp`) must be in UTC too.
    tx.batch_execute(&format!(
        "SET LOCAL statement_timeout = {}; SET LOCAL TimeZone = 'UTC'",
        statement_timeout.as_millis().max(1)
    ))
    .map_err(|e| format!("PostgreSQL {target}: {}", error_text(&e)))?;
    let invalid = |e: postgres::Error| format!("--query is not valid here: {}", error_text(&e));
    let mut statement = tx.prepare(sql).map_err(invalid)?;
    // A parameter of another type (`$1::interval`) is sent as text for
    // the server to cast.
    let as_text: Vec<Type> = statement
        .params()
        .iter()
        .map(|t| if fillable(t) { t.clone() } else { Type::TEXT })
        .collect();
    if as_text != statement.params() {
        statement = tx.prepare_typed(sql, &as_text).map_err(invalid)?;
    }
    let bound = bind(statement.params(), params)?;
    let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(AsRef::as_ref).collect();
    let shape = Shape::of(statement.columns())?;
    let failed = |e: postgres::Error| format!("--query failed: {}", error_text(&e));
    // Read at most one row past the limit, never the whole result.
    let rows: Vec<Row> = tx
        .query_raw(&statement, refs)
        .map_err(failed)?
        .take(MAX_ROWS + 1)
        .collect()
        .map_err(failed)?;
    if rows.len() > MAX_ROWS {
        return Err(format!(
            "--query returned more than {MAX_ROWS} rows: return one row per key"
        ));
    }
    rows.iter().map(|row| shape.convert(row)).collect()
}

/// The server's own message (with its detail) rather than "db error".
fn error_text(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let source = std::error::Error::source(err).map(ToString::to_string);
    source.map_or_else(|| err.to_string(), |s| format!("{err}: {s}"))
}

fn fillable(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::INT2
            | Type::INT4
            | Type::INT8
            | Type::FLOAT4
            | Type::FLOAT8
            | Type::BOOL
            | Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::UNKNOWN
    )
}

/// `--param` strings converted to what each `$n` was inferred to be.
fn bind(types: &[Type], values: &[String]) -> Result<Vec<Box<dyn ToSql + Sync>>, String> {
    if types.len() != values.len() {
        return Err(format!(
            "--query has {} parameter(s) ($1...) but {} --param value(s) were given",
            types.len(),
            values.len()
        ));
    }
    types.iter().zip(values).enumerate().map(|(i, (ty, value))| {
        let bad = |e: &dyn std::fmt::Display| format!("--param {value:?} for ${} ({ty}): {e}", i + 1);
        Ok(match *ty {
            Type::INT2 => Box::new(value.parse::<i16>().map_err(|e| bad(&e))?) as Box<dyn ToSql + Sync>,
            Type::INT4 => Box::new(value.parse::<i32>().map_err(|e| bad(&e))?),
            Type::INT8 => Box::new(value.parse::<i64>().map_err(|e| bad(&e))?),
            Type::FLOAT4 => Box::new(value.parse::<f32>().map_err(|e| bad(&e))?),
            Type::FLOAT8 => Box::new(value.parse::<f64>().map_err(|e| bad(&e))?),
            Type::BOOL => Box::new(value.parse::<bool>().map_err(|e| bad(&e))?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => Box::new(value.clone()),
            _ => return Err(format!("${} has type {ty}, which --param cannot fill: cast it in the query, e.g. ${}::text", i + 1, i + 1)),
        })
    }).collect()
}

/// Which columns hold the key and the value.
struct Shape {
    key: Option<Type>,
    value: Type,
    value_name: String,
}

impl Shape {
    fn of(columns: &[postgres::Column]) -> Result<Shape, String> {
        let (key, value) = match columns {
            [value] => (None, value),
            [key, value] => (Some(key), value),
            _ => {
                return Err(format!(
                    "--query returns {} columns: return one (a timestamp or an age in seconds) or two (key, timestamp)",
                    columns.len()
                ));
            }
        };
        if let Some(key) = key
            && !matches!(
                *key.type_(),
                Type::TEXT
                    | Type::VARCHAR
                    | Type::BPCHAR
                    | Type::NAME
                    | Type::INT2
                    | Type::INT4
                    | Type::INT8
            )
        {
            return Err(format!(
                "--query key column \"{}\" is {}: return text or an integer (cast it, e.g. {}::text)",
                key.name(),
                key.type_(),
                key.name()
            ));
        }
        if !matches!(
            *value.type_(),
            Type::TIMESTAMPTZ
                | Type::TIMESTAMP
                | Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::FLOAT4
                | Type::FLOAT8
        ) {
            return Err(format!(
                "--query column \"{}\" is {}, not a time: return timestamptz/timestamp, or an age in seconds as a number (e.g. extract(epoch from now() - ts)::float8)",
                value.name(),
                value.type_()
            ));
        }
        Ok(Shape {
            key: key.map(|k| k.type_().clone()),
            value: value.type_().clone(),
            value_name: value.name().to_owned(),
        })
    }

    fn convert(&self, row: &Row) -> Result<(Option<String>, Value), String> {
        let get = |e: postgres::Error| format!("--query column \"{}\": {e}", self.value_name);
        let at = usize::from(self.key.is_some());
        let value = match self.value {
            Type::TIMESTAMPTZ | Type::TIMESTAMP => row
                .try_get::<_, Option<SystemTime>>(at)
                .map_err(get)?
                .map(Value::At),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(at)
                .map_err(get)?
                .map(|n| Value::AgeSeconds(f64::from(n))),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(at)
                .map_err(get)?
                .map(|n| Value::AgeSeconds(f64::from(n))),
            Type::INT8 => row
                .try_get::<_, Option<i64>>(at)
                .map_err(get)?
                .map(|n| Value::AgeSeconds(n as f64)),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(at)
                .map_err(get)?
                .map(|n| Value::AgeSeconds(f64::from(n))),
            _ => row
                .try_get::<_, Option<f64>>(at)
                .map_err(get)?
                .map(Value::AgeSeconds),
        };
        let value = match value {
            Some(Value::AgeSeconds(age)) if !age.is_finite() => {
                return Err(format!("--query returned an age of {age} seconds"));
            }
            Some(v) => v,
            None => Value::Null,
        };
        let key = match &self.key {
            None => return Ok((None, value)),
            Some(Type::INT2) => row
                .try_get::<_, Option<i16>>(0)
                .map(|k| k.map(|n| n.to_string())),
            Some(Type::INT4) => row
                .try_get::<_, Option<i32>>(0)
                .map(|k| k.map(|n| n.to_string())),
            Some(Type::INT8) => row
                .try_get::<_, Option<i64>>(0)
                .map(|k| k.map(|n| n.to_string())),
            Some(_) => row.try_get::<_, Option<String>>(0),
        }
        .map_err(|e| e.to_string())?;
        // A NULL key is no worker's name (and "NULL" could be one).
        let key = key.ok_or_else(|| {
            "--query returned a NULL key: leave those rows out (WHERE key IS NOT NULL) \
             or name them (coalesce(key, 'none'))"
                .to_owned()
        })?;
        Ok((Some(key), value))
    }
}
