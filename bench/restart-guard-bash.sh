#!/usr/bin/env bash
# restart-guard's default form written as a careful bash script with
# flock(1): the baseline bench/restart-guard.sh measures against. Same
# policy (at most MAX attempts in a sliding window of PER seconds, COOLDOWN
# seconds apart), same single instance (non-blocking lock, held back with
# exit 1), same durability (the attempt is saved and synced before CMD
# runs; one audit line per decision, synced), same exit codes.
#
# Usage: restart-guard-bash.sh NAME MAX PER_SECONDS COOLDOWN_SECONDS DIR -- CMD ARGS...
# (It is no more robust than such scripts are: wall-clock times, no boot id,
# no backoff, no escalation, no verification, no process-group kill.)
set -euo pipefail
export TZ=UTC

name=$1 max=$2 per=$3 cooldown=$4 dir=$5
shift 5
[[ ${1-} == -- ]] && shift
state=$dir/$name.state
audit=$dir/restart-guard-bash.audit.jsonl
mkdir -p "$dir"

audit_line() { # decision exit_status
    local now
    printf -v now '%(%Y-%m-%dT%H:%M:%SZ)T' -1
    printf '{"time":"%s","name":"%s","decision":"%s","exit_status":%s,"restarts_in_window":%d,"max":%d}\n' \
        "$now" "$name" "$1" "$2" "${#window[@]}" "$max" >>"$audit"
    sync "$audit"
}

window=()
exec 9>"$dir/$name.lock"
if ! flock -n 9; then
    audit_line held-lock null
    echo "RESTART WARNING - held back: another restart of $name is in progress"
    exit 1
fi

# State: one attempt per line, in microseconds since the epoch.
now_us=${EPOCHREALTIME/./}
if [[ -f $state ]]; then
    while read -r t; do
        ((now_us - t < per * 1000000)) && window+=("$t")
    done <"$state"
fi
last=0
((${#window[@]} > 0)) && last=${window[-1]}
if ((${#window[@]} >= max)); then
    audit_line held-budget null
    echo "RESTART CRITICAL - restart budget of $name exhausted (${#window[@]}/$max)"
    exit 2
fi
if ((last > 0 && now_us - last < cooldown * 1000000)); then
    audit_line held-cooldown null
    echo "RESTART WARNING - held back: $name is cooling down"
    exit 1
fi

# Record the attempt durably before running CMD.
window+=("$now_us")
tmp=$(mktemp "$dir/.$name.state.XXXXXX")
printf '%s\n' "${window[@]}" >"$tmp"
sync "$tmp"
mv -f "$tmp" "$state"
sync "$dir"

status=0
timeout 120 "$@" || status=$?
if ((status == 0)); then
    audit_line restarted "$status"
    echo "RESTART OK - restarted $name (${#window[@]}/$max)"
    exit 0
fi
audit_line failed "$status"
echo "RESTART CRITICAL - restart of $name failed: exit $status"
exit 2
