# Shared by the selfheal notifiers (sourced, not run). restart-guard runs a
# notifier with the situation in its environment: SELFHEAL_NAME,
# SELFHEAL_REASON, SELFHEAL_DECISION, SELFHEAL_RESTARTS_IN_WINDOW,
# SELFHEAL_MAX, SELFHEAL_WINDOW, SELFHEAL_NEXT_ALLOWED, SELFHEAL_AUDIT.

# The event: the first argument (exhausted or recovered), else exhausted.
selfheal_event() {
    case "${1:-exhausted}" in
        exhausted | recovered) printf '%s\n' "${1:-exhausted}" ;;
        *)
            echo "$0: unknown event '$1': give exhausted or recovered" >&2
            exit 3
            ;;
    esac
}

# One key per name, so a chat or pager can thread or collapse repeats.
selfheal_dedup_key() {
    printf '%s\n' "${SELFHEAL_DEDUP_KEY:-selfheal-${SELFHEAL_NAME:-unknown}}"
}

# The title and the message a human reads.
selfheal_title() {
    case "$1" in
        exhausted) printf 'selfheal: %s restart budget exhausted on %s\n' "${SELFHEAL_NAME:-?}" "$(uname -n)" ;;
        recovered) printf 'selfheal: %s recovered on %s\n' "${SELFHEAL_NAME:-?}" "$(uname -n)" ;;
    esac
}

selfheal_message() {
    printf '%s restarts in %s (max %s); next allowed %s.\nReason: %s\nLast: %s\nAudit: %s\n' \
        "${SELFHEAL_RESTARTS_IN_WINDOW:-?}" "${SELFHEAL_WINDOW:-?}" "${SELFHEAL_MAX:-?}" \
        "${SELFHEAL_NEXT_ALLOWED:-?}" "${SELFHEAL_REASON:-}" "${SELFHEAL_LAST_OUTCOME:-}" \
        "${SELFHEAL_AUDIT:-}"
}

# A JSON string literal of stdin: backslash, quote and control characters escaped.
# Trailing newlines are dropped.
selfheal_json_string() {
    escaped=$(tr -d '\000-\010\013-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' |
        sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/\\n/g')
    printf '"%s"' "$escaped"
}

# The secret in file $1 (first line), refused if missing, empty, or one curl's
# config syntax could not hold. Never echoed.
selfheal_read_secret() {
    if [ ! -r "$1" ]; then
        echo "$0: cannot read the secret file $1: create it (mode 0600) or set the variable naming it" >&2
        exit 3
    fi
    IFS= read -r secret < "$1" || [ -n "$secret" ]
    case "$secret" in
        '' | *'"'* | *\\*)
            echo "$0: the secret file $1 is empty or holds a quote or backslash: write the value alone on its first line" >&2
            exit 3
            ;;
    esac
    printf '%s\n' "$secret"
}
