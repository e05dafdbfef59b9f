#!/usr/bin/env bash
# ops.sh HANGAR - operations from the command line (docs/OPERATIONS.md): control.metrics on a
# port already taken (`check` and `run` say so), /metrics passing `promtool check metrics` (when
# promtool is installed), log.file reopened on SIGUSR1 (logrotate), log.format text, logfmt and
# json, and log.engines levels. TAP on stdout; every host started here is stopped by its PID.
set -u
HANGAR=$1
TMP=$(mktemp -d /tmp/hg-ops-XXXXXX) || exit 1
pid=""
holder=""
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    [ -n "$holder" ] && kill -KILL "$holder" 2>/dev/null
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
# Waits for the host at most 10 s (then kills it by its PID); sets st.
finish() {
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid"
    st=$?
    pid=""
}
fetch() { # URL: the body on stdout
    python3 - "$1" <<'PY'
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end="")
PY
}

# A port some other process listens on.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$TMP/port" &
holder=$!
for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
taken=$(cat "$TMP/port")
cat >"$TMP/taken.yaml" <<YAML
hangar: 1
control:
  metrics: "127.0.0.1:$taken"
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
YAML
"$HANGAR" check "$TMP/taken.yaml" >"$TMP/check.out" 2>"$TMP/check.err"
st=$?
[ "$st" -eq 2 ] && grep -q "taken.yaml:3:12: control: control.metrics 127.0.0.1:$taken: Address already in use" "$TMP/check.err"
check $? "check: the metrics port taken is an error at the key, exit 2 (got $st)" "$TMP/check.err"
"$HANGAR" run "$TMP/taken.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
finish
[ "$st" -eq 1 ] && grep -q "error host: control.metrics 127.0.0.1:$taken: Address already in use (another process listens on that port" "$TMP/run.err" &&
    grep -q "the host did not start" "$TMP/run.err"
check $? "run: the metrics port taken stops the start with a clear error, exit 1 (got $st)" "$TMP/run.err"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
holder=""

# log.file, SIGUSR1, log.engines, /metrics and promtool
cat >"$TMP/h.yaml" <<YAML
hangar: 1
control: { metrics: "127.0.0.1:0" }
log: { level: warn, file: h.log, engines: { echo: info, host: info } }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: echo, connections: 2, payload: 32B, requests: 200 }
YAML
"$HANGAR" run "$TMP/h.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
wait_log "$TMP/h.log" "echo: tcp-echo listening on"
check $? "log.file: lines go to the file (relative to the config)" "$TMP/run.err"
! grep -q "listening on" "$TMP/run.err"
check $? "  and not to stderr" "$TMP/run.err"
! grep -q "load: tcp-gen started" "$TMP/h.log"
check $? "log.engines: echo logs at info while the rest logs at warn" "$TMP/h.log"
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} info  echo: ' "$TMP/h.log"
check $? "  a line is 'DATE TIME level engine: message'" "$TMP/h.log"
mv "$TMP/h.log" "$TMP/h.log.1"
kill -USR1 "$pid"
wait_log "$TMP/h.log" "SIGUSR1: log file reopened"
check $? "SIGUSR1 reopens the log file by its path (logrotate moved the old one)" "$TMP/run.err"
grep -q "echo: tcp-echo listening on" "$TMP/h.log.1" && ! grep -q "listening on" "$TMP/h.log"
check $? "  the old file keeps what was written before" "$TMP/h.log.1"
maddr=$(grep -o 'metrics at http://127.0.0.1:[0-9]*' "$TMP/h.log.1" | head -n 1)
fetch "${maddr#metrics at }/metrics" >"$TMP/metrics.txt" 2>"$TMP/fetch.err"
if [ ! -s "$TMP/metrics.txt" ]; then
    check 1 "/metrics answers (address: '$maddr')" "$TMP/fetch.err"
else
    grep -q 'hangar_pipeline_bytes_in_total{instance_name="echo",engine="tcp-echo"}' "$TMP/metrics.txt"
    check $? "/metrics answers with the series" "$TMP/metrics.txt"
fi
if command -v promtool >/dev/null; then
    promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1
    check $? "promtool check metrics: no problem found" "$TMP/promtool.out"
else
    n=$((n + 1))
    echo "ok $n - promtool check metrics # SKIP promtool is not installed (Debian package prometheus; the stress suite installs it)"
fi
kill -TERM "$pid"
finish
[ "$st" -eq 0 ]
check $? "the host stops on SIGTERM, exit 0 (got $st)" "$TMP/run.err"

# a log file that cannot be opened: an error at the key, from check and run alike
printf 'hangar: 1\nlog: { file: %s/no/such/dir/h.log }\npipelines:\n  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }\n' "$TMP" >"$TMP/lf.yaml"
"$HANGAR" check "$TMP/lf.yaml" >/dev/null 2>"$TMP/lf.err"
st=$?
[ "$st" -eq 2 ] && grep -q "lf.yaml:2:14: log: cannot open the log file '$TMP/no/such/dir/h.log': No such file or directory" "$TMP/lf.err"
check $? "log.file that cannot be opened: FILE:LINE:COL and why, exit 2 (got $st)" "$TMP/lf.err"

# log.format logfmt and json
for fmt in logfmt json; do
    cat >"$TMP/f.yaml" <<YAML
hangar: 1
log: { format: $fmt }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
YAML
    "$HANGAR" run "$TMP/f.yaml" >"$TMP/f.out" 2>"$TMP/f.err" &
    pid=$!
    wait_log "$TMP/f.err" "listening on"
    kill -TERM "$pid"
    finish
    if [ "$fmt" = logfmt ]; then
        grep -Eq '^time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[+-][0-9]{2}:[0-9]{2} level=info engine="echo" msg="tcp-echo listening on 127\.0\.0\.1:[0-9]+"$' "$TMP/f.err"
        check $? "log.format logfmt: time=... level=... engine=\"...\" msg=\"...\"" "$TMP/f.err"
    else
        grep -E '^\{' "$TMP/f.err" | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin]
assert lines, "no line"
for l in lines:
    assert set(l) == {"time", "level", "engine", "msg"}, l
assert any(l["engine"] == "echo" and l["msg"].startswith("tcp-echo listening on") for l in lines)
' 2>"$TMP/json.err"
        check $? "log.format json: every line a JSON object with time, level, engine, msg" "$TMP/json.err"
    fi
done

echo "1..$n"
exit $failed
