# Shared helpers for the bench/ scripts (sourced). Loopback only, bounded.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
BIN=${GRADGUARD_BIN:-$ROOT/build/gradguard}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

need() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=; [ "$(id -u)" -ne 0 ] && sudo=sudo
	$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() { # url: bounded wait for a 200
	for _ in $(seq 1 200); do
		curl -fs -o /dev/null --max-time 1 "$1" && return 0
		$PY -c 'import time; time.sleep(0.05)'
	done
	echo "timed out waiting for $1" >&2; return 1
}

start_gradguard() { # sets GG_URL; BENCH_NO_BUILD=1 runs $BIN as it is
	[ -n "${BENCH_NO_BUILD:-}" ] || (cd "$ROOT" && make -s build/gradguard >/dev/null)
	local port; port=$(free_port)
	"$BIN" --port "$port" --bind 127.0.0.1 --store memory: "$@" >"$TMP/gg.out" 2>"$TMP/gg.err" &
	PIDS+=($!)
	GG_URL="http://127.0.0.1:$port"
	wait_http "$GG_URL/healthz"
}

start_fastapi() { # sets FA_URL
	local port; port=$(free_port)
	$PY -m uvicorn --app-dir "$ROOT/bench/reference" fastapi_service:app \
		--host 127.0.0.1 --port "$port" --log-level warning \
		>"$TMP/fa.out" 2>"$TMP/fa.err" &
	PIDS+=($!)
	FA_URL="http://127.0.0.1:$port"
	wait_http "$FA_URL/docs"
}

wrk_post() { # url bodyfile seconds conns -> prints requests/sec and latency
	cat >"$TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$2", "rb"); wrk.body = f:read("*a"); f:close()
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
	wrk -t2 -c"$4" -d"$3"s --timeout 30s -s "$TMP/post.lua" "$1" | grep '^RESULT'
}
