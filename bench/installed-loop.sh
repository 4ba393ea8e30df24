#!/usr/bin/env bash
# What the installed loop costs a host: the shipped timers, with their
# default intervals, run for DURATION (default 600 s) in a throwaway systemd
# container against a healthy ollama-sim, beside the peer the incidents
# started from: a Python exporter plus a bash watchdog doing the same checks
# the naive way (a loop with curl/urllib and a generate every 15 s, `ss` and
# `systemctl show` every minute), run in the same container at the same time.
#
# selfheal CPU: what the container's systemd reaped over the window
# (cutime+cstime of its PID 1: every oneshot run with all it waited for,
# sh, jq, systemctl, the tools; the kernel sums it exactly, unlike per-run
# figures rounded to 10 ms). Nothing else exits in there meanwhile (the
# peers run throughout), so this is the selfheal runs plus the small cost of
# the /usr/bin/time wrapper: an upper bound. Peak RSS: every run of every
# selfheal unit is wrapped (by a drop-in made from the unit's own
# ExecStart=) in /usr/bin/time, whose %M is the largest process of the run.
# The peers are long-running: their CPU is utime+stime+cutime+cstime from
# /proc over the window, their RSS is VmHWM.
# (The container's cgroups have no cpu accounting on these cgroup-v1 hosts,
# so CPUUsageNSec and MemoryPeak are not available.)
#
# Needs root, systemd-nspawn (systemd-container), release binaries
# (cargo build --release --workspace). Not part of the test run.
# Usage: bench/installed-loop.sh [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600}
name=selfheal-bench-$$
cg=selfheal-nspawn-$name
release=$PWD/target/release
for b in ollama-frozen-check gpu-probe stall-probe port-reaper restart-guard metrics-textfile ollama-sim; do
    [ -x "$release/$b" ] || { echo "missing $release/$b: cargo build --release --workspace" >&2; exit 3; }
done
[ "$(id -u)" -eq 0 ] || { echo "needs root (systemd-nspawn)" >&2; exit 3; }

binds=()
for f in "$release"/{ollama-frozen-check,gpu-probe,stall-probe,port-reaper,restart-guard,metrics-textfile,ollama-sim} contrib/bin/* contrib/no-systemd/*; do
    binds+=("--bind-ro=$(readlink -f "$f"):/usr/local/bin/$(basename "$f")")
done
console=$(mktemp)
# A cgroup of our own: nspawn leaves payload/ and supervisor/ in it (removed below).
sh -c 'for h in systemd unified; do mkdir -p /sys/fs/cgroup/$h/$0 && echo $$ > /sys/fs/cgroup/$h/$0/cgroup.procs; done; exec systemd-nspawn "$@"' \
    "$cg" --volatile=yes -D / --register=no --keep-unit --console=pipe --private-network \
    --machine="$name" --tmpfs=/usr/local/bin "${binds[@]}" -b >"$console" 2>&1 &
nspawn=$!
leader=''
cleanup() {
    [ -n "$leader" ] && nsenter -t "$leader" -a systemctl poweroff >/dev/null 2>&1 || true
    for _ in $(seq 300); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$nspawn" 2>/dev/null && { [ -n "$leader" ] && kill -KILL "$leader"; kill -KILL "$nspawn"; } 2>/dev/null
    for h in systemd unified; do
        [ -d "/sys/fs/cgroup/$h/$cg" ] && find "/sys/fs/cgroup/$h/$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    rmdir "/run/systemd/nspawn/propagate/$name" 2>/dev/null || true
    rm -f "$console"
}
trap cleanup EXIT
for _ in $(seq 600); do
    for p in $(pgrep -P "$nspawn"); do [ "$(cat /proc/$p/comm)" = systemd ] && leader=$p; done
    [ -n "$leader" ] && break
    sleep 0.1
done
[ -n "$leader" ] || { cat "$console"; exit 1; }
c() { nsenter -t "$leader" -a "$@"; }
for _ in $(seq 600); do
    case $(c systemctl is-system-running 2>/dev/null) in running | degraded) break ;; esac
    sleep 0.1
done
root=/proc/$leader/root
etc=$root/etc/systemd/system

# Install as scripts/install would, then the stand-in Ollama.
cp -r contrib/systemd/. "$etc/"
c useradd --system --user-group --no-create-home --shell /usr/sbin/nologin selfheal
c install -d -m 2775 -g selfheal /var/lib/prometheus/node-exporter
cat >"$etc/ollama.service" <<'EOF'
[Service]
ExecStart=/usr/local/bin/ollama-sim --port 11434 --preload llama3.2:1b --keep-alive -1
EOF
timed=(ollama-check.service gpu-metrics.service restart-guard-status.service restart-loops@.service)
for unit in "${timed[@]}"; do
    exec_line=$(sed -n 's/^ExecStart=//p' "contrib/systemd/$unit")
    mkdir -p "$etc/$unit.d"
    # ReadWritePaths= only where ProtectSystem= already made a mount
    # namespace: elsewhere it would add one, and its cost, to the measurement.
    rw=''
    grep -q '^ProtectSystem=' "contrib/systemd/$unit" && rw='ReadWritePaths=/run/selfheal-cost\n'
    printf "[Service]\n${rw}ExecStart=\nExecStart=/usr/bin/time -a -o /run/selfheal-cost/%s.log -f \"%%%%e %%%%U %%%%S %%%%M %s\" %s\n" \
        "${unit%.service}" "${unit%.service}" "$exec_line" >"$etc/$unit.d/cost.conf"
done
c install -d -m 0777 /run/selfheal-cost

# The peer: what the incidents' own scripts did, in Python and bash.
cat >"$root/run/exporter.py" <<'EOF'
import json, time, urllib.request
BASE = "http://127.0.0.1:11434"
def get(path, body=None):
    req = urllib.request.Request(BASE + path, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())
while True:
    lines = []
    try:
        get("/api/version")
        ps = get("/api/ps")
        gen = get("/api/generate", json.dumps({"model": "llama3.2:1b", "prompt": "hi", "stream": False, "options": {"num_predict": 1}}).encode())
        lines += ["ollama_up 1", f"ollama_models_loaded {len(ps['models'])}", f"ollama_generate_seconds {gen['total_duration'] / 1e9}"]
    except Exception:
        lines.append("ollama_up 0")
    with open("/var/lib/prometheus/node-exporter/peer.prom.tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    import os; os.replace("/var/lib/prometheus/node-exporter/peer.prom.tmp", "/var/lib/prometheus/node-exporter/peer.prom")
    time.sleep(15)
EOF
cat >"$root/run/watchdog.sh" <<'EOF'
#!/bin/bash
n=0
while sleep 15; do
    if ! curl -fsS -m 10 http://127.0.0.1:11434/api/tags >/dev/null; then
        systemctl restart ollama.service
    fi
    n=$((n + 1))
    if [ $((n % 4)) -eq 0 ]; then
        ss -ltnp | grep -q ':11434 ' || echo "port 11434 not listening"
        restarts=$(systemctl show -p NRestarts --value ollama.service)
        [ "$restarts" -gt 50 ] && echo "restart loop: $restarts"
    fi
done
EOF
chmod +x "$root/run/watchdog.sh"
printf '[Service]\nExecStart=/usr/bin/python3 /run/exporter.py\n' >"$etc/peer-exporter.service"
printf '[Service]\nExecStart=/run/watchdog.sh\n' >"$etc/peer-watchdog.service"

peer_cost() { # unit -> "cpu_seconds peak_kib", read inside the container
    local pid
    pid=$(c systemctl show -p MainPID --value "$1")
    c cat "/proc/$pid/stat" | awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f ", ($14 + $15 + $16 + $17) / hz}'
    c cat "/proc/$pid/status" | awk '/VmHWM/ {print $2}'
}
c systemctl daemon-reload
c systemctl start ollama.service peer-exporter.service peer-watchdog.service
c systemctl start ollama-check.timer gpu-metrics.timer restart-guard-status.timer restart-loops@ollama.timer
# The timers first fire at OnBootSec=1min: measure from then on.
sleep 65
c sh -c 'for f in /run/selfheal-cost/*.log; do : >"$f"; done'
read -r exporter_cpu0 _ < <(peer_cost peer-exporter.service)
read -r watchdog_cpu0 _ < <(peer_cost peer-watchdog.service)
reaped() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($16 + $17) / hz}' "/proc/$leader/stat"; }
reaped0=$(reaped)
echo "measuring for ${duration}s (from $(date -u +%T))"
sleep "$duration"
reaped1=$(reaped)
c systemctl stop ollama-check.timer gpu-metrics.timer restart-guard-status.timer restart-loops@ollama.timer

read -r exporter_cpu exporter_rss < <(peer_cost peer-exporter.service)
read -r watchdog_cpu watchdog_rss < <(peer_cost peer-watchdog.service)

log=$(cat "$root"/run/selfheal-cost/*.log)
echo
echo "selfheal runs in ${duration}s, per unit: runs, peak RSS of one run"
printf '%s\n' "$log" | awk '$1 ~ /^[0-9.]+$/ {n[$5]++; if ($4 > rss[$5]) rss[$5] = $4}
    END {for (u in n) printf "  %-22s %4d runs  %6.1f MiB\n", u, n[u], rss[u] / 1024}'
printf '%s\n' "$log" | awk -v d="$duration" -v cpu="$(echo "$reaped1 $reaped0" | awk '{print $1 - $2}')" \
    '$1 ~ /^[0-9.]+$/ {if ($4 > rss) rss = $4}
    END {printf "selfheal total: %.2f CPU s per hour = %.4f %% of one core; peak RSS of any run %.1f MiB\n", cpu * 3600 / d, cpu * 100 / d, rss / 1024}'
exporter_cpu=$(echo "$exporter_cpu $exporter_cpu0" | awk '{print $1 - $2}')
watchdog_cpu=$(echo "$watchdog_cpu $watchdog_cpu0" | awk '{print $1 - $2}')
awk -v d="$duration" -v c1="$exporter_cpu" -v r1="$exporter_rss" -v c2="$watchdog_cpu" -v r2="$watchdog_rss" 'BEGIN {
    printf "peer (Python exporter + bash watchdog): %.2f CPU s per hour = %.4f %% of one core; RSS %.1f MiB (exporter) + %.1f MiB (watchdog, its curl children not counted)\n",
        (c1 + c2) * 3600 / d, (c1 + c2) * 100 / d, r1 / 1024, r2 / 1024 }'
