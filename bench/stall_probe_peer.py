#!/usr/bin/env python3
"""The Python peer of bench/stall-probe.sh: what a trading agent's exporter
did with psycopg2, and a /proc trend sample, doing the same work as
`stall-probe age --query` and `stall-probe trend --pid` (one sample per run).

  stall_probe_peer.py age SQL CRIT_SECONDS     (connection from the PG* variables)
  stall_probe_peer.py trend PID STATE_FILE
"""
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone


def age(sql, crit):
    import psycopg2

    conn = psycopg2.connect(connect_timeout=5)
    conn.set_session(readonly=True)
    with conn.cursor() as cur:
        cur.execute("SET LOCAL statement_timeout = 10000")
        cur.execute(sql)
        rows = cur.fetchmany(1001)
    conn.close()
    now = datetime.now(timezone.utc)
    worst = 0
    parts = []
    for key, at in rows:
        age = (now - at).total_seconds() if at else float("inf")
        worst = max(worst, 2 if age >= crit else 0)
        parts.append(f"{key}={age:.3f}s")
    print(f"STALL {'CRITICAL' if worst else 'OK'} - {len(rows)} keys | {' '.join(parts)}")
    return worst


def trend(pid, state_file, window=300.0):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / 100.0
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    with open(f"/proc/{pid}/schedstat") as f:
        run, wait = (int(x) for x in f.read().split()[:2])
    now = time.clock_gettime(time.CLOCK_BOOTTIME)
    try:
        with open(state_file) as f:
            samples = json.load(f)["samples"]
    except FileNotFoundError:
        samples = []
    samples = [s for s in samples if now - s["t"] <= window]
    samples.append({"t": now, "cpu": cpu, "demand": (run + wait) / 1e9, "rss": rss})
    slope = 0.0
    if len(samples) >= 2:
        ts = [s["t"] for s in samples]
        ys = [s["rss"] for s in samples]
        mt, my = sum(ts) / len(ts), sum(ys) / len(ys)
        sxx = sum((t - mt) ** 2 for t in ts)
        if sxx:
            slope = sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / sxx
    directory = os.path.dirname(os.path.abspath(state_file))
    with tempfile.NamedTemporaryFile("w", dir=directory, delete=False) as tmp:
        json.dump({"samples": samples}, tmp)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, state_file)
    dir_fd = os.open(directory, os.O_RDONLY)
    os.fsync(dir_fd)
    os.close(dir_fd)
    print(f"STALL OK - {len(samples)} samples, rss {rss} B, slope {slope:.1f} B/s")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "age":
        sys.exit(age(sys.argv[2], float(sys.argv[3])))
    sys.exit(trend(int(sys.argv[2]), sys.argv[3]))
