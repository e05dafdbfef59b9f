#!/usr/bin/env bash
# reload.sh HANGAR - SIGHUP reloads under `hangar run`: a burst of 50 SIGHUPs is served by
# reloads that run one after another (every signal the process took is served exactly once, the
# change written before the burst is applied once, nothing crashes), an invalid file leaves the
# host as it was; and systemd's notifications through a fake NOTIFY_SOCKET (READY, RELOADING
# with MONOTONIC_USEC, the watchdog, STOPPING). TAP on stdout; every host started here is
# stopped by its PID.
set -u
HANGAR=$1
TMP=$(mktemp -d /tmp/hg-reload-XXXXXX) || exit 1
pid=
rpid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    [ -n "$rpid" ] && kill -KILL "$rpid" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
n=0
failed=0
echo "TAP version 13"
check() { # STATUS DESCRIPTION [FILE to show on failure]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
        echo "not ok $n - $2"
        failed=1
        [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/# /' "$3" | tail -n 30
    fi
}
# Waits (bounded, 10 s) until the shell condition COND holds.
wait_for() { # COND
    for _ in $(seq 1 200); do
        eval "$1" && return 0
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
    pid=
}
config() { # EXTRA-PIPELINE-LINES
    printf 'hangar: 1\ncontrol: { shutdown_timeout: 2s }\npipelines:\n  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }\n%s' "$1" >"$TMP/h.yaml"
}
asked() { grep -c "SIGHUP: reload asked" "$TMP/run.err"; }
# The signals the reloads so far said they served, summed.
served() { grep -o '([0-9]* signals\? served' "$TMP/run.err" | awk '{ s += substr($1, 2) } END { print s + 0 }'; }

# --- a burst of SIGHUPs ---
config ""
"$HANGAR" run "$TMP/h.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
wait_for 'grep -q "running 1 engine" "$TMP/run.err"'
check $? "a host with one echo engine runs" "$TMP/run.err"
config '  - { name: echo2, engine: tcp-echo, listen: "127.0.0.1:0" }
'
for _ in $(seq 1 50); do kill -HUP "$pid"; done
wait_for '[ "$(asked)" -ge 1 ] && [ "$(served)" -eq "$(asked)" ]'
check $? "the SIGHUPs the process took are all served by reloads ($(asked) taken of 50 sent; the kernel folds pending ones)" "$TMP/run.err"
kill -0 "$pid" 2>/dev/null
check $? "the host survived the burst" "$TMP/run.err"
[ "$(grep -c 'added \["echo2"\]' "$TMP/run.err")" -eq 1 ] && [ "$(grep -c 'echo2: tcp-echo listening' "$TMP/run.err")" -eq 1 ]
check $? "the change written before the burst is applied, once" "$TMP/run.err"

# --- an invalid file: nothing changes, every error logged ---
printf 'hangar: 1\ncontrol: { shutdown_timeout: 2s }\npipelines:\n  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0", bogus: 1 }\n  - { name: echo2, engine: tcp-echo }\n' >"$TMP/h.yaml"
before=$(asked)
kill -HUP "$pid"
wait_for 'grep -q "refused, nothing changed" "$TMP/run.err"'
grep -q "unknown key 'bogus'" "$TMP/run.err" && grep -q "missing required key 'listen'" "$TMP/run.err" && kill -0 "$pid" 2>/dev/null
check $? "an invalid file is refused with every error logged; the host runs on" "$TMP/run.err"
[ "$(asked)" -eq $((before + 1)) ]
check $? "  that SIGHUP was taken once" "$TMP/run.err"
kill -TERM "$pid"
finish
[ "$st" -eq 0 ] && [ "$(served)" -eq "$(asked)" ]
check $? "SIGTERM stops it: exit 0 (got $st), every SIGHUP served" "$TMP/run.err"
reloads=$(grep -c "SIGHUP: reloading" "$TMP/run.err")
applied=$(grep -c "host: reload [0-9]* of" "$TMP/run.err")
refused=$(grep -c "SIGHUP: reload refused" "$TMP/run.err")
[ "$reloads" -ge 1 ] && [ "$reloads" -le "$(asked)" ] && [ $((applied + refused)) -eq "$reloads" ]
check $? "each reload ran once: $reloads reloads ($applied applied, $refused refused) for $(asked) signals" "$TMP/run.err"
seq_ok=0
i=0
for k in $(grep -o "host: reload [0-9]* of" "$TMP/run.err" | grep -o "[0-9]*"); do
    i=$((i + 1))
    [ "$k" -eq "$i" ] || seq_ok=1
done
check $seq_ok "the reloads are numbered 1..$i in the log: serialised, none doubled" "$TMP/run.err"

# --- a generator added by a reload prints its summary at the end ---
config ""
"$HANGAR" run "$TMP/h.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
wait_for 'grep -q "running 1 engine" "$TMP/run.err"'
config '  - { name: late, engine: tcp-gen, connect: echo, connections: 2, requests: 50 }
'
kill -HUP "$pid"
wait_for 'grep -q "added \[\"late\"\]" "$TMP/run.err"'
check $? "SIGHUP adds a generator to the running host" "$TMP/run.err"
kill -TERM "$pid"
finish
# (SIGTERM may stop it before its 50 requests: what it sent, it got answered)
[ "$st" -eq 0 ] && grep -q "^== late (tcp-gen)" "$TMP/run.out" && grep -Eq "requests +([0-9]+) sent, \1 answered" "$TMP/run.out"
check $? "its summary is printed at the end (exit $st)" "$TMP/run.out"

# --- systemd notifications through a fake NOTIFY_SOCKET ---
if ! command -v python3 >/dev/null; then
    echo "ok $((n + 1)) - # SKIP python3 is not installed (the fake NOTIFY_SOCKET needs it)"
    n=$((n + 1))
else
    config ""
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
while True:
    msg = s.recv(4096).decode()
    with open(sys.argv[2], "a") as f:
        f.write(msg.replace("\n", " ") + "\n")
' "$TMP/notify.sock" "$TMP/notify.log" &
    rpid=$!
    wait_for '[ -S "$TMP/notify.sock" ] && [ -f "$TMP/notify.log" ]'
    NOTIFY_SOCKET="$TMP/notify.sock" WATCHDOG_USEC=200000 "$HANGAR" run "$TMP/h.yaml" \
        >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    wait_for 'grep -q "^READY=1" "$TMP/notify.log"'
    check $? "READY=1 once the engines started" "$TMP/notify.log"
    wait_for '[ "$(grep -c "^WATCHDOG=1" "$TMP/notify.log")" -ge 3 ]'
    check $? "WATCHDOG=1 every half WATCHDOG_USEC while the hub answers" "$TMP/notify.log"
    # a reload that takes a while: echo changes and a client that sends without reading keeps
    # the old one busy (its answers cannot drain) until shutdown_timeout (2 s) cuts it
    port=$(grep -o 'echo: tcp-echo listening on 127\.0\.0\.1:[0-9]*' "$TMP/run.err" | head -n 1)
    exec 3<>"/dev/tcp/127.0.0.1/${port##*:}"
    head -c 64000000 /dev/zero >&3 2>/dev/null &
    wpid=$!
    wait_for '[ "$(grep -c "^WATCHDOG=1" "$TMP/notify.log")" -ge 4 ]' # the writer got going
    sed -i 's/listen: "127.0.0.1:0" }/listen: "127.0.0.1:0", idle_timeout: 60s }/' "$TMP/h.yaml"
    kill -HUP "$pid"
    wait_for 'grep -q "^RELOADING=1 MONOTONIC_USEC=[0-9][0-9]*" "$TMP/notify.log" && [ "$(grep -c "^READY=1" "$TMP/notify.log")" -ge 2 ]'
    check $? "a reload says RELOADING=1 with MONOTONIC_USEC, then READY=1" "$TMP/notify.log"
    kill "$wpid" 2>/dev/null
    wait "$wpid" 2>/dev/null
    exec 3>&-
    grep -q 'changed \["echo"\]' "$TMP/run.err"
    check $? "  that reload restarted the changed echo" "$TMP/run.err"
    during=$(awk '/^RELOADING=1/ { on = 1; next } on && /^READY=1/ { exit } on && /^WATCHDOG=1/ { n++ } END { print n + 0 }' "$TMP/notify.log")
    [ "$during" -ge 3 ]
    check $? "  and the watchdog was fed while it ran ($during times in about 2 s)" "$TMP/notify.log"
    kill -TERM "$pid"
    finish
    grep -q "^STOPPING=1" "$TMP/notify.log" && [ "$st" -eq 0 ]
    check $? "SIGTERM says STOPPING=1 and the run exits 0 (got $st)" "$TMP/notify.log"
    kill "$rpid" 2>/dev/null
    wait "$rpid" 2>/dev/null
    rpid=
    # without NOTIFY_SOCKET, nothing is sent anywhere (and nothing fails)
    "$HANGAR" run "$TMP/h.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    wait_for 'grep -q "running 1 engine" "$TMP/run.err"'
    kill -TERM "$pid"
    finish
    [ "$st" -eq 0 ]
    check $? "without NOTIFY_SOCKET the run is as before: exit 0 (got $st)" "$TMP/run.err"
fi
echo "1..$n"
exit $failed
