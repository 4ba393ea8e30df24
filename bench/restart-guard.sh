#!/usr/bin/env bash
# Benchmark: the overhead of restart-guard's decision path with a no-op CMD
# (`true`), against the same policy as a bash script with flock(1)
# (bench/restart-guard-bash.sh), in one hyperfine run per storage: state on
# tmpfs (the decision path alone) and on disk (plus fsync latency). Both take the lock,
# read the state, decide, make the attempt durable before CMD, run CMD
# and append a synced audit line; --cooldown 0s and a large --max make every
# run a restart. Bare `true` is measured too, so the overhead can be read
# off: process start-up and fork/exec cost about 1 ms each on small VMs.
#
# Targets (issue 4): < 2 ms per invocation, >= 5x faster than bash.
#
# Usage: bench/restart-guard.sh [RUNS]   (default 500)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-500}
for tool in hyperfine jq flock bc; do
    command -v "$tool" >/dev/null || {
        echo "bench: $tool is missing (apt-get install hyperfine jq bc util-linux)" >&2
        exit 3
    }
done

cargo build --release -p restart-guard >&2
rg=$PWD/target/release/restart-guard
work=$(mktemp -d)
shm=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$work" "$shm"' EXIT

# One hyperfine run over the four commands with state in $1 (a directory).
measure() {
    local dir=$1
    hyperfine -N --warmup 20 --runs "$runs" --export-json "$dir/times.json" \
        -n 'true' 'true' \
        -n 'restart-guard --dry-run' \
        "$rg --name bench --state-dir $dir/dry --max 1000000 --cooldown 0s --dry-run -- true" \
        -n 'restart-guard' \
        "$rg --name bench --state-dir $dir/rg --max 1000000 --cooldown 0s -- true" \
        -n 'bash + flock' \
        "bash bench/restart-guard-bash.sh bench 1000000 3600 0 $dir/sh -- true" >&2
}

# Prints the per-invocation means and ratios of one measure() run.
summary() {
    local dir=$1 label=$2 bare dry ours bash
    mean() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .mean * 1000' "$dir/times.json"; }
    bare=$(mean 'true')
    dry=$(mean 'restart-guard --dry-run')
    ours=$(mean 'restart-guard')
    bash=$(mean 'bash + flock')
    echo
    printf '%s: per invocation, mean of %d runs (%d/%d audit lines written)\n' "$label" "$runs" \
        "$(wc -l <"$dir/rg/restart-guard.audit.jsonl")" "$(wc -l <"$dir/sh/restart-guard-bash.audit.jsonl")"
    printf '  bare true                    %6.2f ms\n' "$bare"
    printf '  restart-guard --dry-run      %6.2f ms  (decide only: no lock, no write, no CMD)\n' "$dry"
    printf '  restart-guard -- true        %6.2f ms  (overhead over bare true: %.2f ms)\n' "$ours" "$(echo "$ours - $bare" | bc -l)"
    printf '  bash + flock -- true         %6.2f ms  (overhead over bare true: %.2f ms)\n' "$bash" "$(echo "$bash - $bare" | bc -l)"
    printf '  bash / restart-guard         %6.1fx    (overhead ratio %.1fx)\n' \
        "$(echo "$bash / $ours" | bc -l)" "$(echo "($bash - $bare) / ($ours - $bare)" | bc -l)"
}

# On tmpfs fsync costs nothing: this isolates the decision path's own
# overhead. On disk both sides also pay their syncs (restart-guard: 2 per
# restart, an in-place intent record and the audit line; the bash script:
# 3), which on a busy virtual disk dominate both.
measure "$shm"
measure "$work"
summary "$shm" "tmpfs ($shm)"
summary "$work" "disk ($work)"
