#!/usr/bin/env bash
# prometheus.sh HANGAR - a real Prometheus server scrapes a running host's control.metrics and
# hangar's series come back through Prometheus's own query API (/api/v1/query): the counters
# with their labels, and the generator's latency histogram through histogram_quantile. Installs
# Debian's `prometheus` (with promtool) when missing. TAP on stdout; the host and the server
# started here are stopped by their PIDs.
set -u
HANGAR=$1
TMP=$(mktemp -d /tmp/hg-prom-XXXXXX) || exit 1
hp=""
pp=""
cleanup() {
    [ -n "$hp" ] && kill -KILL "$hp" 2>/dev/null
    [ -n "$pp" ] && kill -KILL "$pp" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
n=0
failed=0
echo "TAP version 13"
. "$(dirname "$0")/../tap.sh" # check
wait_log() { # FILE PATTERN
    for _ in $(seq 1 200); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    export DEBIAN_FRONTEND=noninteractive
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends prometheus; } \
        >"$TMP/apt.log" 2>&1
fi
command -v prometheus >/dev/null && command -v promtool >/dev/null
check $? "prometheus and promtool are installed (Debian package prometheus)" "$TMP/apt.log"
[ "$failed" -eq 0 ] || { echo "1..$n"; exit 1; }
# Prometheus' service started by the package is left alone: this test runs its own.

cat >"$TMP/h.yaml" <<YAML
hangar: 1
control: { metrics: "127.0.0.1:0" }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: echo, connections: 2, payload: 32B, duration: 120s, cps_limit: 100 }
YAML
"$HANGAR" run "$TMP/h.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
hp=$!
wait_log "$TMP/run.err" 'metrics at http://127.0.0.1:[0-9]*'
check $? "the host serves its metrics" "$TMP/run.err"
target=$(grep -o 'metrics at http://127.0.0.1:[0-9]*' "$TMP/run.err" | head -n 1)
target=${target#metrics at http://}

# a free port for Prometheus' own web listener (it has no port 0 report)
pport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$TMP/prometheus.yml" <<YAML
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: hangar
    static_configs: [ { targets: ["$target"] } ]
YAML
promtool check config "$TMP/prometheus.yml" >"$TMP/promtool.out" 2>&1
check $? "promtool accepts the scrape configuration" "$TMP/promtool.out"
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/data" \
    --web.listen-address="127.0.0.1:$pport" >"$TMP/prom.log" 2>&1 &
pp=$!

query() { # PROMQL: the JSON answer on stdout
    python3 - "$pport" "$1" <<'PY'
import sys, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(sys.argv[2]))
try:
    print(urllib.request.urlopen(url, timeout=2).read().decode())
except Exception as e:
    print("error: %s" % e)
PY
}
# Waits (at most 60 s: Prometheus starts, then scrapes every second) until QUERY has a result
# whose text matches PATTERN; the last answer in $TMP/answer.
wait_query() { # QUERY PATTERN
    for _ in $(seq 1 120); do
        query "$1" >"$TMP/answer" 2>&1
        grep -q "$2" "$TMP/answer" && return 0
        kill -0 "$pp" 2>/dev/null || return 1
        sleep 0.5
    done
    return 1
}
wait_query 'up{job="hangar"}' '"value":\[[0-9.]*,"1"\]'
check $? "Prometheus scrapes the host: up{job=\"hangar\"} is 1" "$TMP/answer"
wait_query 'hangar_pipeline_bytes_in_total{instance_name="echo"}' '"engine":"tcp-echo"'
check $? "hangar_pipeline_bytes_in_total{instance_name=\"echo\"} comes back with its engine label" "$TMP/answer"
wait_query 'rate(hangar_pipeline_responses_total{instance_name="load"}[5s]) > 0' '"instance_name":"load"'
check $? "the generator's responses grow between scrapes (rate > 0)" "$TMP/answer"
wait_query 'histogram_quantile(0.99, rate(hangar_pipeline_request_latency_seconds_bucket[5s])) > 0' '"instance_name":"load"'
check $? "histogram_quantile over the latency histogram's buckets gives a p99" "$TMP/answer"
wait_query 'hangar_instance_info{instance_name="echo",state="running"}' '"address":"127.0.0.1:'
check $? "hangar_instance_info carries the state and facts as labels" "$TMP/answer"
curl -s "http://$target/metrics" >"$TMP/metrics.txt" 2>/dev/null ||
    python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://$target/metrics').read().decode())" >"$TMP/metrics.txt"
promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1
check $? "promtool check metrics finds no problem in /metrics" "$TMP/promtool.out"

kill -TERM "$pp"
wait "$pp" 2>/dev/null
pp=""
kill -TERM "$hp"
for _ in $(seq 1 200); do kill -0 "$hp" 2>/dev/null || break; sleep 0.05; done
wait "$hp"
st=$?
hp=""
[ "$st" -eq 0 ]
check $? "the host stops on SIGTERM, exit 0 (got $st)" "$TMP/run.err"
echo "1..$n"
exit $failed
