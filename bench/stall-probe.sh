#!/usr/bin/env bash
# Benchmark: one `stall-probe age --query` against PostgreSQL (six symbols,
# one per key) and one `stall-probe trend --pid` sample (kept in a state
# window), each beside a Python script doing the same work with psycopg2
# (how the trading agents' original exporter did it), in one run.
# Prints hyperfine's mean times and the median peak RSS of each.
#
# Needs: PostgreSQL server binaries (apt-get install postgresql), python3
# with psycopg2 (pip install psycopg2-binary, or apt-get install
# python3-psycopg2), hyperfine, GNU time (/usr/bin/time).
#
# Usage: bench/stall-probe.sh [RUNS]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-30}
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "bench: no PostgreSQL binaries (apt-get install postgresql)" >&2; exit 3; }
for tool in hyperfine python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 3; }
done
python3 -c 'import psycopg2' 2>/dev/null ||
    { echo "bench: python3 lacks psycopg2 (pip install psycopg2-binary)" >&2; exit 3; }
# The interpreter itself, not a version manager's shim (pyenv's adds ~0.3 s).
py=$(python3 -c 'import sys; print(sys.executable)')

cargo build --release --quiet -p stall-probe
probe=$PWD/target/release/stall-probe
peer=$PWD/bench/stall_probe_peer.py

work=$(mktemp -d)
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$work"
    as_pg=(setpriv --reuid=postgres --regid=postgres --clear-groups)
fi
worker=
cleanup() {
    [ -n "$worker" ] && kill "$worker" 2>/dev/null || true
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pgbin/initdb" -D "$work/data" -U postgres -E UTF8 --locale=C --no-sync --auth-local=trust >/dev/null 2>&1
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
    -o "-p $port -k $work -c listen_addresses='' -c fsync=off" start >/dev/null
export PGHOST=$work PGPORT=$port PGUSER=postgres PGDATABASE=postgres
"${as_pg[@]}" "$pgbin/psql" -h "$work" -p "$port" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 -c "
CREATE TABLE decisions (symbol text NOT NULL, decided_at timestamptz NOT NULL);
INSERT INTO decisions SELECT s, now() - (g || ' seconds')::interval
  FROM unnest(ARRAY['BTC','ETH','SOL','ADA','XRP','DOGE']) AS s, generate_series(1, 10000) AS g;
CREATE INDEX ON decisions (symbol, decided_at);
ANALYZE decisions;"

sql="SELECT symbol, max(decided_at) FROM decisions GROUP BY symbol"
"$py" -c 'import time; time.sleep(3600)' &
worker=$!
mkdir -p "$work/state" "$work/peer"

age_probe="$probe age --query '$sql' --crit 5m"
age_peer="$py $peer age '$sql' 300"
trend_probe="$probe trend --pid $worker --window 5m --state-dir $work/state"
trend_peer="$py $peer trend $worker $work/peer/state.json"

for cmd in "$age_probe" "$age_peer" "$trend_probe" "$trend_peer"; do
    sh -c "$cmd" >/dev/null || { echo "bench: failed: $cmd" >&2; sh -c "$cmd"; exit 1; }
done

hyperfine --style basic --warmup 3 --runs "$runs" --export-json "$work/times.json" \
    -n "stall-probe age (PostgreSQL, 6 keys)" "$age_probe" \
    -n "python3 + psycopg2 age" "$age_peer" \
    -n "stall-probe trend (one sample)" "$trend_probe" \
    -n "python3 trend (one sample)" "$trend_peer" >/dev/null

peak_rss() { # median of 11 runs of GNU time's max RSS, in KiB
    for _ in $(seq 11); do /usr/bin/time -f %M sh -c "exec $1 >/dev/null" 2>&1 | tail -1; done | sort -n | sed -n 6p
}

echo
printf '%-40s %12s %12s %14s\n' command "mean ms" "± ms" "peak RSS KiB"
i=0
for cmd in "$age_probe" "$age_peer" "$trend_probe" "$trend_peer"; do
    python3 - "$work/times.json" "$i" "$(peak_rss "$cmd")" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
print(f'{result["command"]:<40} {result["mean"] * 1000:12.2f} {result["stddev"] * 1000:12.2f} {sys.argv[3]:>14}')
PY
    i=$((i + 1))
done
