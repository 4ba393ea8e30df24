#!/usr/bin/env bash
# Benchmark: metrics-textfile (validate + atomic write with fsyncs) against
# `promtool check metrics` (validate only), `sponge` (write only: no
# validation, no fsync) and `sponge` followed by `sync` of the file and its
# directory (the same durability as ours, no validation) on one
# 100,000-series file, in one hyperfine run. Prints the medians, the ratios,
# and peak RSS against the file size, for the valid file and for an
# error-full one (every line a problem).
#
# Targets: >= 5x faster than promtool, <= 2x the time of sponge + sync,
# peak RSS <= 2x the file size + 16 MiB, valid or not.
#
# Usage: bench/metrics-textfile.sh [SERIES]   (default 100000)
# METRICS_TEXTFILE=/path/to/binary compares another build (default: release).
set -euo pipefail
cd "$(dirname "$0")/.."

series=${1:-100000}
for tool in promtool sponge hyperfine jq; do
    command -v "$tool" >/dev/null || {
        echo "bench: $tool is missing (apt-get install prometheus moreutils hyperfine jq)" >&2
        exit 3
    }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
input=$work/input.prom

# Families of 1,000 series each, mostly counters and gauges with realistic
# labels, and every tenth family a histogram (12 series per label set).
generate() {
    awk -v series="$series" 'BEGIN {
        n = 0; f = 0
        while (n < series) {
            if (f % 10 == 9) {
                name = sprintf("bench_family_%03d_duration_seconds", f)
                printf "# HELP %s Request latency of family %d.\n# TYPE %s histogram\n", name, f, name
                for (i = 0; i < 100 && n < series; i++) {
                    labels = sprintf("instance=\"host-%05d\",job=\"bench\",path=\"/api/v1/items/%d\"", i, i)
                    split("0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5", les, " ")
                    for (b = 1; b <= 9; b++)
                        printf "%s_bucket{%s,le=\"%s\"} %d\n", name, labels, les[b], b * 10 + i
                    printf "%s_bucket{%s,le=\"+Inf\"} %d\n", name, labels, 100 + i
                    printf "%s_sum{%s} %.3f\n%s_count{%s} %d\n", name, labels, i * 1.5, name, labels, 100 + i
                    n += 12
                }
            } else {
                kind = (f % 2) ? "gauge" : "counter"
                name = sprintf("bench_family_%03d_%s", f, (f % 2) ? "bytes" : "requests_total")
                printf "# HELP %s Synthetic %s number %d.\n# TYPE %s %s\n", name, kind, f, name, kind
                for (i = 0; i < 1000 && n < series; i++) {
                    printf "%s{instance=\"host-%05d\",job=\"bench\",method=\"GET\",code=\"%d\"} %d\n", name, i % 250, 200 + int(i / 250), 1000000 + i * 7
                    n++
                }
            }
            f++
        }
    }' >"$input"
}

generate
bytes=$(stat -c %s "$input")
echo "input: $(grep -vc '^#' "$input") series, $bytes bytes"

if [ -n "${METRICS_TEXTFILE:-}" ]; then
    bin=$METRICS_TEXTFILE
else
    echo "building the release binary..."
    cargo build --release --quiet -p metrics-textfile
    bin=$PWD/target/release/metrics-textfile
fi

# Sanity: every tool accepts the input, and ours writes it byte for byte.
"$bin" --output "$work/check.prom" <"$input" >/dev/null
cmp -s "$input" "$work/check.prom" || { echo "bench: metrics-textfile altered the file" >&2; exit 1; }
promtool check metrics <"$input"

export TMPDIR=$work # sponge's temp file on the same filesystem: its best case
hyperfine --warmup 3 --runs 30 --style basic --export-json "$work/times.json" \
    -n metrics-textfile "$bin --output $work/out-mt.prom < $input" \
    -n check "$bin --check < $input" \
    -n promtool "promtool check metrics < $input" \
    -n sponge "sponge $work/out-sponge.prom < $input" \
    -n sponge-sync "sponge $work/out-sync.prom < $input && sync $work/out-sync.prom $work"

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$work/times.json"; }
mt=$(median metrics-textfile)
pt=$(median promtool)
# CPU time (user + system) holds still on a loaded machine where wall time does not.
cpu() { jq -r --arg n "$1" '.results[] | select(.command == $n) | (.user + .system) * 1000' "$work/times.json"; }
ck=$(median check)
sp=$(median sponge)
ss=$(median sponge-sync)

# Peak RSS (VmHWM) of one run, in kB, via getrusage in GNU time when present.
peak_kb() {
    if [ -x /usr/bin/time ]; then
        { /usr/bin/time -f %M "$@" 2>&1 >/dev/null <"$input" || true; } | tail -1
    else
        echo "bench: /usr/bin/time is missing (apt-get install time)" >&2
        echo 0
    fi
}
rss=$(peak_kb "$bin" --output "$work/rss.prom")
# The same size of input where every line is a problem.
head -c "$bytes" <(yes y) >"$input"
bad_rss=$(peak_kb "$bin" --check) # every line an error: exits 2

awk -v cmt="$(cpu metrics-textfile)" -v cck="$(cpu check)" -v cpt="$(cpu promtool)" -v css="$(cpu sponge-sync)" \
    -v mt="$mt" -v ck="$ck" -v pt="$pt" -v sp="$sp" -v ss="$ss" -v rss="$rss" -v bad="$bad_rss" -v bytes="$bytes" 'BEGIN {
    mib = bytes / 1048576
    printf "\nmedians: metrics-textfile %.1f ms (--check %.1f ms), promtool %.1f ms, sponge %.1f ms, sponge + sync %.1f ms\n", mt, ck, pt, sp, ss
    printf "promtool / metrics-textfile     = %.1fx faster (target >= 5x)\n", pt / mt
    printf "metrics-textfile / sponge       = %.2fx sponge time\n", mt / sp
    printf "metrics-textfile / sponge + sync = %.2fx (target <= 2x)\n", mt / ss
    printf "peak RSS %.1f MiB for a %.1f MiB file (valid), %.1f MiB (every line an error); target <= %.1f MiB\n", rss / 1024, mib, bad / 1024, 2 * mib + 16
    printf "cpu (user + system, means): metrics-textfile %.1f ms, --check %.1f ms, promtool %.1f ms, sponge + sync %.1f ms\n", cmt, cck, cpt, css
    fail = (pt / mt < 5) || (mt / ss > 2) || (rss / 1024 > 2 * mib + 16) || (bad / 1024 > 2 * mib + 16)
    if (fail) { print "TARGET MISSED"; exit 1 }
    print "all targets met"
}'
