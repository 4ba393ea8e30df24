#!/usr/bin/env bash
# Benchmark: finding who holds a TCP port on a busy host, port-reaper --list
# against fuser, lsof and ss -p (and killport where installed), in one run
# of interleaved rounds, with CPU time and peak RSS.
#
# Load (bounded, loopback only, removed by the trap): PROCS sleep processes
# (default 2000), each holding SOCKETS_PER listening sockets (default 10) on
# 127.77.x.y:20000+ (a private loopback range, ports below the ephemeral
# range, so nothing else is disturbed) and 8 more descriptors on /dev/null:
# about 20,000 sockets and 42,000 descriptors. The target: a python process
# listening on 127.0.0.1:<ephemeral> plus an orphaned grandchild sharing
# that socket. No traffic is sent anywhere.
#
# Targets (issue 12): at most half of ss -p's time; peak RSS under 8 MiB.
#
# Usage: bench/port-reaper.sh   (PROCS=2000 SOCKETS_PER=10 RUNS=20 to change)
set -euo pipefail
cd "$(dirname "$0")/.."

procs=${PROCS:-2000}
per=${SOCKETS_PER:-10}
runs=${RUNS:-20}

need() { # command, Debian package
    command -v "$1" >/dev/null && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y "$2" >&2
    else
        echo "bench: $1 is missing (apt-get install $2)" >&2
        exit 3
    fi
}
need jq jq
[ -x /usr/bin/time ] || need /usr/bin/time time
need python3 python3
need fuser psmisc
need lsof lsof
need ss iproute2

cargo build --release -p port-reaper >&2
reaper=$PWD/target/release/port-reaper
work=$(mktemp -d)

cleanup() {
    # Only the processes this script started, by pid.
    if [ -s "$work/pids" ]; then
        xargs -r kill -KILL <"$work/pids" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "bench: starting $procs processes with $((procs * per)) sockets..." >&2
python3 - "$work" "$procs" "$per" >"$work/builder.log" 2>&1 <<'PY' &
import os, resource, socket, subprocess, sys, time

work, procs, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
pids = open(os.path.join(work, "pids"), "a")
pids.write(f"{os.getpid()}\n")
pids.flush()

target = socket.socket()
target.bind(("127.0.0.1", 0))
target.listen()
# The orphan: a child forks a grandchild holding the socket, then exits.
child = os.fork()
if child == 0:
    grandchild = os.fork()
    if grandchild == 0:
        time.sleep(3600)
        os._exit(0)
    pids.write(f"{grandchild}\n")
    pids.flush()
    os._exit(0)
os.waitpid(child, 0)

null = os.open(os.devnull, os.O_RDONLY)
for i in range(procs):
    socks = []
    for j in range(per):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((f"127.77.{i // 250}.{i % 250 + 1}", 20000 + j))
        s.listen(1)
        socks.append(s)
    extra = [os.dup(null) for _ in range(8)]
    fds = [s.fileno() for s in socks] + extra
    p = subprocess.Popen(["sleep", "3600"], pass_fds=fds, stdin=subprocess.DEVNULL)
    pids.write(f"{p.pid}\n")
    for s in socks:
        s.close()
    for fd in extra:
        os.close(fd)
pids.flush()
with open(os.path.join(work, "port.tmp"), "w") as f:
    f.write(str(target.getsockname()[1]))
os.rename(os.path.join(work, "port.tmp"), os.path.join(work, "port"))
time.sleep(3600)
PY
disown

for _ in $(seq 600); do
    [ -s "$work/port" ] && break
    sleep 0.1
done
[ -s "$work/port" ] || { echo "bench: the load never came up:" >&2; cat "$work/builder.log" >&2; exit 1; }
port=$(cat "$work/port")
# Processes come and go while counting: find's complaints are expected.
tasks=$({ find /proc -maxdepth 1 -name '[0-9]*' 2>/dev/null || true; } | wc -l)
fds=$({ find /proc/[0-9]*/fd -maxdepth 1 -type l 2>/dev/null || true; } | wc -l)
tcp=$(($(wc -l </proc/net/tcp) - 1))
echo "bench: $tasks processes, $fds descriptors, $tcp IPv4 TCP sockets; target 127.0.0.1:$port" >&2

# Who each one reports, so a fast wrong answer cannot pass.
echo "holders found:"
printf '  port-reaper  %s\n' "$("$reaper" --list --format json "$port" | jq -c '[.details.holders[].pid] | sort')"
printf '  ss -p        %s\n' "$(ss -Htlnp "sport = :$port" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -n | paste -sd, -)"
printf '  fuser        %s\n' "$(fuser -n tcp "$port" 2>/dev/null | tr -s ' ' '\n' | grep . | sort -n | paste -sd, -)"
printf '  lsof         %s\n' "$(lsof -t -iTCP:"$port" -sTCP:LISTEN | sort -n | paste -sd, -)"

# Commands take turns, round after round, so a machine whose load drifts
# (other jobs on the same cores) slows every command alike; each round's
# ratio to port-reaper is taken pair by pair. Wall and CPU time come from
# wait4(2) on each run. Peak RSS is measured apart, with GNU time: a child
# of python would count python's own memory from before its exec.
{
    printf 'port-reaper --list\t%s --list %s\n' "$reaper" "$port"
    printf 'port-reaper --list --source proc\t%s --list --source proc %s\n' "$reaper" "$port"
    printf "ss -p\tss -Htlnp 'sport = :%s'\n" "$port"
    printf 'fuser\tfuser -n tcp %s\n' "$port"
    printf 'lsof\tlsof -t -iTCP:%s -sTCP:LISTEN\n' "$port"
    printf "ss (socket only, no -p)\tss -Htln 'sport = :%s'\n" "$port"
    if command -v killport >/dev/null && killport --help 2>&1 | grep -q -- '--dry-run'; then
        printf 'killport --dry-run\tkillport --dry-run %s\n' "$port"
    fi
} >"$work/commands"

python3 - "$work/commands" "$runs" <<'PY'
import os, shlex, statistics, subprocess, sys, time

commands = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
runs, warmup = int(sys.argv[2]), 3
wall = {name: [] for name, _ in commands}
cpu = {name: [] for name, _ in commands}
for round_ in range(warmup + runs):
    for name, line in commands:
        start = time.perf_counter()
        child = subprocess.Popen(shlex.split(line), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(child.pid, 0)
        took = time.perf_counter() - start
        if round_ >= warmup:
            wall[name].append(took)
            cpu[name].append(usage.ru_utime + usage.ru_stime)

ours = "port-reaper --list"
print(f"\nmedians of {runs} interleaved rounds:")
print(f"  {'command':34} {'wall':>9} {'cpu':>9} {'vs port-reaper':>15}")
for name, _ in commands:
    paired = statistics.median(w / o for w, o in zip(wall[name], wall[ours]))
    print(f"  {name:34} {statistics.median(wall[name]) * 1000:7.1f}ms {statistics.median(cpu[name]) * 1000:7.1f}ms"
          f" {paired:14.2f}x")
ratio = statistics.median(o / s for o, s in zip(wall[ours], wall["ss -p"]))
cpu_ratio = statistics.median(cpu[ours]) / statistics.median(cpu["ss -p"])
print(f"target: port-reaper wall <= 0.5 x ss -p: {ratio:.2f}x (cpu {cpu_ratio:.2f}x) -> {'met' if ratio <= 0.5 else 'NOT met'}")
PY

peak() { # the largest max RSS (KiB) of 5 runs, as GNU time reports it
    local most=0 kib
    for _ in 1 2 3 4 5; do
        /usr/bin/time -o "$work/rss" -f '%M' "$@" >/dev/null 2>&1 || true
        kib=$(tail -1 "$work/rss")
        [ "$kib" -gt "$most" ] && most=$kib
    done
    echo "$most"
}
rss_reaper=$(peak "$reaper" --list "$port")
rss_ss=$(peak ss -Htlnp "sport = :$port")
rss_fuser=$(peak fuser -n tcp "$port")
echo "peak RSS: port-reaper --list $rss_reaper KiB, ss -p $rss_ss KiB, fuser $rss_fuser KiB"
if [ "$rss_reaper" -lt 8192 ]; then
    echo "target: peak RSS < 8 MiB (8192 KiB) -> met"
else
    echo "target: peak RSS < 8 MiB (8192 KiB) -> NOT met"
fi
