#!/usr/bin/env bash
# uring-refused.sh HANGAR NO_URING - where io_uring is refused (a seccomp filter makes
# io_uring_setup fail with EPERM, or ENOSYS as on an old kernel), `hangar check` and `hangar run`
# of a config with runtime mode uring fail with a config error at runtime.mode that says why
# and names the other modes; nothing crashes, and the other modes run under the same filter.
# TAP on stdout.
set -u
HANGAR=$1
NO_URING=$2
TMP=$(mktemp -d /tmp/hg-uring-XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
n=0
echo "TAP version 13"
check() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
        echo "not ok $n - $2"
        [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/# /' "$3" | tail -n 10
    fi
}
config() {
    cat >"$TMP/$1.yaml" <<YAML
hangar: 1
runtime: { mode: $1, workers: 2 }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
YAML
}
config uring
config uv

"$HANGAR" check "$TMP/uring.yaml" >"$TMP/out" 2>&1
check $? "without a filter, check accepts runtime mode uring" "$TMP/out"

for err in EPERM ENOSYS; do
    for verb in check run; do
        timeout 20 "$NO_URING" "$err" "$HANGAR" "$verb" "$TMP/uring.yaml" >"$TMP/out" 2>&1
        rc=$?
        check $((rc == 2 ? 0 : 1)) "$err: $verb fails with the config error status (got $rc)" \
            "$TMP/out"
        grep -q "uring.yaml:2:[0-9]*: runtime: .*'uring' cannot run here" "$TMP/out"
        check $? "$err: $verb points at runtime.mode and says uring cannot run" "$TMP/out"
        want="seccomp"
        [ "$err" = ENOSYS ] && want="no io_uring"
        grep -q "$want" "$TMP/out" && grep -q "'uv'" "$TMP/out" && grep -q "'blocking'" "$TMP/out"
        check $? "$err: $verb says why ($want) and names uv and blocking" "$TMP/out"
        ! grep -qi "sanitizer\|segmentation\|abort\|crash" "$TMP/out"
        check $? "$err: $verb does not crash" "$TMP/out"
    done
done

timeout 20 "$NO_URING" EPERM "$HANGAR" check "$TMP/uv.yaml" >"$TMP/out" 2>&1
check $? "under the same filter, runtime mode uv is accepted" "$TMP/out"
echo "1..$n"
