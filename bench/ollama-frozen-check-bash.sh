#!/usr/bin/env bash
# The peer for bench/ollama-frozen-check.sh: what a typical watch script
# does, layers 1 and 2 only (HTTP liveness and /api/ps), with curl and jq.
# Exit 0 when both answer as Ollama, 2 otherwise.
#
# Usage: bench/ollama-frozen-check-bash.sh URL
set -euo pipefail
url=${1:?usage: $0 URL}
curl -fsS --max-time 5 "$url/api/version" | jq -e '.version' >/dev/null || exit 2
curl -fsS --max-time 10 "$url/api/ps" | jq -e '.models | length' >/dev/null || exit 2
