#!/usr/bin/env bash
# Whole-process figures for docs/benchmarks.md, measured on the real
# `hellowatt` binary against `hellowatt simulate` (both on 127.0.0.1):
#   1. service start to ready (/readyz 200): cold (nothing compiled) and
#      cached (the compiled guest mapped from the artifact cache);
#   2. RSS (VmRSS) idle after start, and the peak (VmHWM) during a
#      36-month backfill with no pacing, plus the backfill's wall time;
#   3. the API under load: a year of daily readings (/api/v1/readings),
#      wrk for 30 s at several concurrency levels, latency percentiles;
#      then questions that all miss the answer cache (bench-api-misses.lua).
#
# Usage: scripts/bench.sh [--quick]
#   Full: needs the release binary (cargo build --release -p hellowatt) and
#   wrk (apt-get install wrk). Prints `RESULT name = value` lines.
#   --quick: the debug binary the tests build, a 2-month backfill, one
#   start of each kind and 2 s of wrk at one concurrency (skipped without
#   wrk, except under CI where that fails): seconds, to check the script
#   still works.
# HELLOWATT_BIN overrides the binary; CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
case "${1:-}" in
    --quick) quick=1 ;;
    "") ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
target="${CARGO_TARGET_DIR:-target}"
if [ "$quick" = 1 ]; then
    bin="${HELLOWATT_BIN:-$target/debug/hellowatt}"
    months=2; starts=1; wrk_seconds=2; levels="4"
else
    bin="${HELLOWATT_BIN:-$target/release/hellowatt}"
    months=36; starts=5; wrk_seconds=30; levels="1 4 16 64"
fi
if [ ! -x "$bin" ]; then
    echo "no binary at $bin: build it first (cargo build --release -p hellowatt)" >&2
    exit 1
fi
for tool in curl python3; do
    command -v "$tool" >/dev/null || { echo "$0 needs $tool" >&2; exit 1; }
done

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

result() { echo "RESULT $*"; }
now_ns() { date +%s%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
status_kib() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }
echo "load average (1 min) at start: $(cut -d' ' -f1 /proc/loadavg)"

# The simulated site, on a port of its own choosing.
"$bin" simulate --listen 127.0.0.1:0 --tempo-listen 127.0.0.1:0 --ecowatt-listen 127.0.0.1:0 >"$work/sim.log" 2>&1 &
sim_pid=$!
pids+=("$sim_pid")
for _ in $(seq 1 500); do
    grep -q "^simulated helloWatt site on" "$work/sim.log" && break
    sleep 0.01
done
site="$(sed -n 's/^simulated helloWatt site on //p' "$work/sim.log")"
[ -n "$site" ] || { cat "$work/sim.log" >&2; echo "the simulated site did not start" >&2; exit 1; }

# The Tempo guest runs too, against the simulated Tempo service.
tempo="$(sed -n 's/^simulated Tempo service on //p' "$work/sim.log")"
export HELLOWATT_TEMPO_URL="$tempo" HELLOWATT_TEMPO_FALLBACK_URL=off HELLOWATT_TEMPO_PACING_MS=0
export HELLOWATT_SITE_URL="$site" HELLOWATT_EMAIL=demo@hellowatt.test
export HELLOWATT_PASSWORD='Demo-password-2026!' HELLOWATT_PACING_MS=0
export RUST_LOG="${RUST_LOG:-warn}"
unset HELLOWATT_CONFIG

# Starts `hellowatt run` on a data folder; sets $svc_pid, $svc_port and
# $ready_ms (from exec to the first /readyz 200).
start_service() {
    local dir="$1" backfill="$2"
    svc_port="$(free_port)"
    local started
    started="$(now_ns)"
    HELLOWATT_DB="$dir/hellowatt.db" HELLOWATT_GUESTS_DIR="$dir/guests" \
        HELLOWATT_BACKFILL_MONTHS="$backfill" HELLOWATT_LISTEN="127.0.0.1:$svc_port" \
        "$bin" run >>"$dir/service.log" 2>&1 &
    svc_pid=$!
    pids+=("$svc_pid")
    for _ in $(seq 1 6000); do
        if curl -sf -o /dev/null "http://127.0.0.1:$svc_port/readyz"; then
            ready_ms=$(( ($(now_ns) - started) / 1000000 ))
            return 0
        fi
        kill -0 "$svc_pid" 2>/dev/null || break
        sleep 0.002
    done
    cat "$dir/service.log" >&2
    echo "the service did not get ready" >&2
    exit 1
}

stop_service() {
    kill -INT "$svc_pid" 2>/dev/null || true
    wait "$svc_pid" 2>/dev/null || true
}

# 1. Start to ready, cold then cached, and the idle RSS of a started service.
cold=(); cached=(); idle=(); idle_cold=()
for i in $(seq 1 "$starts"); do
    dir="$work/start-$i"
    mkdir -p "$dir"
    start_service "$dir" 0
    cold+=("$ready_ms")
    sleep 2
    idle_cold+=("$(status_kib "$svc_pid" VmRSS)")
    stop_service
    start_service "$dir" 0
    cached+=("$ready_ms")
    sleep 2
    idle+=("$(status_kib "$svc_pid" VmRSS)")
    stop_service
done
result "start.cold_ms = $(printf '%s\n' "${cold[@]}" | median) (runs: ${cold[*]})"
result "start.cached_ms = $(printf '%s\n' "${cached[@]}" | median) (runs: ${cached[*]}; target < 100)"
result "rss.idle_after_start_mib = $(( $(printf '%s\n' "${idle[@]}" | median) / 1024 )) (cached guest; target < 40)"
result "rss.idle_after_cold_start_mib = $(( $(printf '%s\n' "${idle_cold[@]}" | median) / 1024 )) (the guest compiled in this process)"

# 2. A backfill: RSS sampled every 100 ms, the peak from VmHWM. The guest
# is compiled and cached by a first start, so that the figures are the
# backfill's, not the compiler's (a cold compile alone leaves the process
# at about 50 MiB).
dir="$work/backfill"
mkdir -p "$dir"
start_service "$dir" 0
stop_service
start_service "$dir" "$months"
backfill_started="$(now_ns)"
sampled_max=0
done_ms=""
for _ in $(seq 1 36000); do
    rss="$(status_kib "$svc_pid" VmRSS)"
    [ "$rss" -gt "$sampled_max" ] && sampled_max="$rss"
    # The backfill is one run (the first start made a shorter daily one):
    # it is over once a finished run starts at the oldest month asked.
    if curl -sf "http://127.0.0.1:$svc_port/api/v1/runs" 2>/dev/null \
        | python3 -c '
import datetime, json, sys
months = int(sys.argv[1])
d = datetime.date.today().replace(day=1)
for _ in range(months):
    d = (d - datetime.timedelta(days=1)).replace(day=1)
done = any(r.get("finished_at") and r["from"] <= d.isoformat() for r in json.load(sys.stdin))
sys.exit(0 if done else 1)' "$months" 2>/dev/null; then
        done_ms=$(( ($(now_ns) - backfill_started) / 1000000 ))
        break
    fi
    sleep 0.1
done
[ -n "$done_ms" ] || { tail -20 "$dir/service.log" >&2; echo "the backfill did not finish" >&2; exit 1; }
runs_json="$(curl -sf "http://127.0.0.1:$svc_port/api/v1/runs")"
echo "$runs_json" | python3 -c '
import json,sys
for r in json.load(sys.stdin):
    print("run:", {k: r.get(k) for k in ("outcome", "from", "to", "requests", "stats")})'
sleep 5
result "backfill.months = $months"
result "backfill.wall_ms = $done_ms (as seen from outside, polling every 100 ms)"
result "rss.idle_after_backfill_mib = $(( $(status_kib "$svc_pid" VmRSS) / 1024 )) (target < 40)"
result "rss.peak_mib = $(( $(status_kib "$svc_pid" VmHWM) / 1024 )) (VmHWM; sampled max $(( sampled_max / 1024 )) MiB; target < 150)"

# 3. The API: a year of daily readings of the electricity meter.
if ! command -v wrk >/dev/null; then
    # Under CI (.ci/run installs wrk) a missing tool is a failure, not a skip.
    case "${CI:-}" in
        ""|0|false) echo "wrk is not installed (apt-get install wrk): API latency skipped" >&2
                    exit 0 ;;
        *) echo "wrk is not installed under CI (CI=$CI): .ci/run installs it (apt-get install wrk)" >&2
           exit 1 ;;
    esac
fi
meter="$(curl -sf "http://127.0.0.1:$svc_port/api/v1/meters" | python3 -c '
import json,sys
print(next(m["meter_id"] for m in json.load(sys.stdin) if m["energy"] == "electricity"))')"
url="http://127.0.0.1:$svc_port/api/v1/readings?meter=$meter&granularity=day&from=2025-11-01&to=2026-10-31"
bytes="$(curl -sf "$url" | wc -c)"
echo "API: GET $url ($bytes bytes)"
for c in $levels; do
    threads=$(( c < 2 ? 1 : 2 ))
    out="$(wrk -t"$threads" -c"$c" -d"${wrk_seconds}s" --latency "$url")"
    pct() { echo "$out" | awk -v p="$1%" '$1==p {print $2}'; }
    rps="$(echo "$out" | awk '/^Requests\/sec/ {print $2}')"
    errors="$(echo "$out" | grep -E 'Non-2xx|Socket errors' || true)"
    result "api.c$c = p50 $(pct 50) p75 $(pct 75) p90 $(pct 90) p99 $(pct 99), $rps req/s ${errors:+($errors)} (target p99 < 5ms)"
done
# 3b. Questions the answer cache has never seen (the first load after a
# sync, or a client that walks the history): scripts/bench-api-misses.lua
# varies the range of every request, in a dashboard's mix.
read -r first last < <(curl -sf "http://127.0.0.1:$svc_port/api/v1/meters" | python3 -c '
import json,sys,datetime
m = next(m for m in json.load(sys.stdin) if m["energy"] == "electricity")
days = lambda s: (datetime.date.fromisoformat(s) - datetime.date(1970, 1, 1)).days
print(days(m["first_day"]), days(m["last_day"]))')
for c in $levels; do
    threads=$(( c < 2 ? 1 : 2 ))
    out="$(METER="$meter" FIRST="$first" LAST="$last" wrk -t"$threads" -c"$c" -d"${wrk_seconds}s" \
        --latency -s scripts/bench-api-misses.lua "http://127.0.0.1:$svc_port")"
    pct() { echo "$out" | awk -v p="$1%" '$1==p {print $2}'; }
    rps="$(echo "$out" | awk '/^Requests\/sec/ {print $2}')"
    misses="$(echo "$out" | awk '/^MISSES/ {$1=""; print}')"
    result "api.misses.c$c = p50 $(pct 50) p75 $(pct 75) p90 $(pct 90) p99 $(pct 99), $rps req/s ($misses) (target p99 < 5ms)"
done
result "rss.peak_after_api_mib = $(( $(status_kib "$svc_pid" VmHWM) / 1024 ))"
stop_service
echo "load average (1 min) at end: $(cut -d' ' -f1 /proc/loadavg)"
