#!/usr/bin/env bash
# Benchmark: one full gpu-probe snapshot (NVML through the test suite's fake
# libnvidia-ml.so.1, 8 GPUs, 50 processes named from a fixture /proc), in
# each output format, beside a shell script that asks nvidia-smi the same
# (GPU fields and compute apps as CSV) where nvidia-smi exists. Prints
# time per invocation (hyperfine) and peak RSS (/usr/bin/time -v).
#
# Targets (issue 10): < 5 ms and < 8 MiB peak RSS per invocation.
#
# The fake library answers from memory, so this measures gpu-probe's own
# cost (loading NVML, 13 queries per GPU, /proc reads, rendering), not a
# real driver's: on real hardware nvmlInit adds driver time (tens to
# hundreds of ms without persistence mode) that nvidia-smi pays as well.
# "minimal fake" loads the test library, which lacks most NVML symbols.
#
# Usage: bench/gpu-probe.sh [RUNS]   (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-300}
for tool in hyperfine jq cc; do
    command -v "$tool" >/dev/null || {
        echo "bench: $tool is missing (apt-get install hyperfine jq gcc)" >&2
        exit 3
    }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 3; }

cargo build --release --quiet -p gpu-probe
bin=$PWD/target/release/gpu-probe
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fake=crates/test-support/fake_nvml/fake_nvml.c
mkdir -p "$work/min" "$work/full"
cc -shared -fPIC -O2 -o "$work/min/libnvidia-ml.so.1" "$fake"
# The real library exports every NVML entry point, and nvml-wrapper looks
# each one up at load; a lookup that fails costs far more (dlerror) than
# one that succeeds. So the timed library also exports, as stubs never
# called, every symbol nvml-wrapper-sys binds that the fake does not define.
bindings=$(cargo metadata --format-version 1 | jq -r '.packages[] | select(.name == "nvml-wrapper-sys") | .manifest_path')
bindings=$(dirname "$bindings")/src/bindings.rs
grep -oE 'b"nvml[A-Za-z0-9_]+\\0"' "$bindings" | sed 's/^b"//; s/\\0"$//' | sort -u >"$work/wanted"
grep -oE '^[a-z].* \*?nvml[A-Za-z0-9_]+\(' "$fake" | grep -oE 'nvml[A-Za-z0-9_]+' | sort -u >"$work/defined"
{
    cat "$fake"
    comm -23 "$work/wanted" "$work/defined" | sed 's/.*/int &(void) { return 13; }/'
} >"$work/full.c"
cc -shared -fPIC -O2 -o "$work/full/libnvidia-ml.so.1" "$work/full.c"
echo "fake NVML: $(wc -l <"$work/defined") entry points answered, $(wc -l <"$work/wanted") exported"

# 8 GPUs; 50 processes dealt round-robin, each with comm and cmdline.
{
    echo "gpus 8"
    for g in $(seq 0 7); do
        echo "gpu $g name NVIDIA H100 80GB HBM3"
        printf 'gpu %d uuid GPU-%08x-1111-2222-3333-44445555%04x\n' "$g" "$g" "$g"
        echo "gpu $g util $((g * 12)) $((g * 5))"
        echo "gpu $g memory 85520809984 $((g * 4000000000 + 1000000)) $((85520809984 - g * 4000000000 - 1000000))"
        echo "gpu $g temp $((35 + g * 4))"
        echo "gpu $g power $((70000 + g * 40000))"
        echo "gpu $g limit 700000"
        echo "gpu $g pstate 0"
    done
    for p in $(seq 0 49); do
        echo "gpu $((p % 8)) compute $((10000 + p)) $(((p + 1) * 100000000))"
    done
} >"$work/scenario"
mkdir -p "$work/sys" "$work/proc"
for p in $(seq 0 49); do
    d=$work/proc/$((10000 + p))
    mkdir -p "$d"
    echo "worker-$p" >"$d/comm"
    printf 'python3\0-m\0vllm.entrypoints.api_server\0--port\0%d\0' "$((8000 + p))" >"$d/cmdline"
done
export FAKE_NVML_SCENARIO=$work/scenario
probe="$bin --nvml-lib $work/full/libnvidia-ml.so.1 --sysfs-root $work/sys --proc-root $work/proc"
probe_min="$bin --nvml-lib $work/min/libnvidia-ml.so.1 --sysfs-root $work/sys --proc-root $work/proc"

# Sanity: the snapshot is whole before it is timed.
out=$($probe --format json)
[ "$(jq '.details.gpus | length' <<<"$out")" = 8 ] || { echo "bench: expected 8 GPUs" >&2; exit 1; }
[ "$(jq '[.details.gpus[].processes[]] | length' <<<"$out")" = 50 ] || { echo "bench: expected 50 processes" >&2; exit 1; }

commands=(-n 'gpu-probe (text)' "$probe" -n 'gpu-probe --format json' "$probe --format json"
    -n 'gpu-probe --format prom' "$probe --format prom"
    -n 'gpu-probe, minimal fake' "$probe_min")
if command -v nvidia-smi >/dev/null; then
    cat >"$work/smi.sh" <<'EOF'
nvidia-smi --query-gpu=index,uuid,name,utilization.gpu,utilization.memory,memory.total,memory.used,memory.free,temperature.gpu,power.draw,power.limit,pstate --format=csv,noheader,nounits
nvidia-smi --query-compute-apps=gpu_uuid,pid,process_name,used_memory --format=csv,noheader,nounits
EOF
    commands+=(-n 'nvidia-smi script' "sh $work/smi.sh")
else
    echo "bench: nvidia-smi not installed here: its column is skipped" >&2
fi

hyperfine -N --warmup 20 --runs "$runs" --style basic --export-json "$work/times.json" "${commands[@]}" >&2

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}'; }
echo
# Wall time on a shared box includes waiting for a CPU; CPU time (user +
# system) is what one invocation costs.
printf '%-26s %9s %9s %9s %9s %13s\n' command 'mean ms' 'median' 'min' 'cpu ms' 'peak RSS KiB'
for name in 'gpu-probe (text)' 'gpu-probe --format json' 'gpu-probe --format prom' 'gpu-probe, minimal fake' 'nvidia-smi script'; do
    jq -e --arg n "$name" '.results[] | select(.command == $n)' "$work/times.json" >/dev/null || {
        printf '%-26s %s\n' "$name" 'skipped (nvidia-smi not installed)'
        continue
    }
    case $name in
    'gpu-probe (text)') kib=$(rss $probe) ;;
    'gpu-probe --format json') kib=$(rss $probe --format json) ;;
    'gpu-probe --format prom') kib=$(rss $probe --format prom) ;;
    'gpu-probe, minimal fake') kib=$(rss $probe_min) ;;
    *) kib=$(rss sh "$work/smi.sh") ;;
    esac
    jq -r --arg n "$name" --arg kib "$kib" '.results[] | select(.command == $n)
        | "\(.command)\t\(.mean * 1000)\t\(.median * 1000)\t\(.min * 1000)\t\((.user + .system) * 1000)\t\($kib)"' "$work/times.json" |
        awk -F'\t' '{ printf "%-26s %9.2f %9.2f %9.2f %9.2f %13s\n", $1, $2, $3, $4, $5, $6 }'
done
echo
echo "targets: < 5 ms and < 8192 KiB peak RSS per invocation"
