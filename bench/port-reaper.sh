#!/usr/bin/env bash
# Benchmark: finding who holds a TCP port on a busy host, port-reaper --list
# against fuser, lsof and ss -p (and killport where installed), in one
# hyperfine run, plus peak RSS.
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
need hyperfine hyperfine
need jq jq
need bc bc
need python3 python3
need fuser psmisc
need lsof lsof
need ss iproute2
[ -x /usr/bin/time ] || need /usr/bin/time time

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

peers=(-n 'ss -p' "ss -Htlnp 'sport = :$port'"
    -n 'fuser' "fuser -n tcp $port"
    -n 'lsof' "lsof -t -iTCP:$port -sTCP:LISTEN"
    -n 'ss (socket only, no -p)' "ss -Htln 'sport = :$port'")
if command -v killport >/dev/null && killport --help 2>&1 | grep -q -- '--dry-run'; then
    peers+=(-n 'killport --dry-run' "killport --dry-run $port")
fi
hyperfine -N -i --warmup 3 --runs "$runs" --export-json "$work/times.json" \
    -n 'port-reaper --list' "$reaper --list $port" \
    -n 'port-reaper --list --source proc' "$reaper --list --source proc $port" \
    "${peers[@]}" >&2

# The largest max RSS (KiB) of 5 runs, as /usr/bin/time reports it.
peak() {
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

echo
echo "medians of $runs runs ($tasks processes, $fds descriptors, $tcp TCP sockets):"
jq -r '.results[] | "\(.command)\t\(.median * 1000)"' "$work/times.json" >"$work/medians"
ours=$(awk -F'\t' '$1 == "port-reaper --list" {print $2}' "$work/medians")
ss_p=$(awk -F'\t' '$1 == "ss -p" {print $2}' "$work/medians")
while IFS=$'\t' read -r name ms; do
    printf '  %-34s %8.1f ms  %6.2fx port-reaper\n' "$name" "$ms" "$(echo "$ms / $ours" | bc -l)"
done <"$work/medians"
echo "peak RSS: port-reaper --list $((rss_reaper / 1024)).$(((rss_reaper % 1024) * 10 / 1024)) MiB ($rss_reaper KiB), ss -p $rss_ss KiB"
ratio=$(echo "$ours / $ss_p" | bc -l)
printf 'target: port-reaper <= 0.5 x ss -p: %.2f x -> %s; peak RSS < 8 MiB: %s\n' "$ratio" \
    "$(echo "$ratio <= 0.5" | bc -l | sed 's/1/met/;s/0/NOT met/')" \
    "$([ "$rss_reaper" -lt 8192 ] && echo met || echo 'NOT met')"
