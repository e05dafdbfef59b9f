#!/bin/sh
# uninstalled-test.sh SRCDIR BUILDDIR - builds sdk/template against the build tree, without
# installing anything: pkg-config finds build/meson-uninstalled/hangar-sdk-uninstalled.pc, whose
# Cflags point at the source tree's SDK headers; the build's hangar then lists and runs the
# template's engine. TAP on stdout.
set -u
SRC=$(realpath "$1")
BUILD=$(realpath "$2")
TMP=$(mktemp -d /tmp/hg-uninst-XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM
n=0
failed=0

echo "TAP version 13"
echo "1..5"
check() { # STATUS DESCRIPTION [LOG]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=1
        [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/# /' "$3" | tail -n 30
    fi
}

# Only the build tree's .pc files are visible.
export PKG_CONFIG_LIBDIR="$BUILD/meson-uninstalled" PKG_CONFIG_PATH="$BUILD/meson-uninstalled"
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_DISABLE_UNINSTALLED
CFLAGS_SDK=$(pkg-config --cflags hangar-sdk 2>&1)
[ "$(echo $CFLAGS_SDK)" = "-I$SRC/sdk/include" ]
check $? "pkg-config --cflags hangar-sdk in the build tree is -I$SRC/sdk/include (got '$CFLAGS_SDK')"

PLUGINDIR=$(pkg-config --variable=plugindir hangar-sdk 2>&1)
[ "$PLUGINDIR" = "$BUILD/plugins" ]
check $? "its plugindir is the build's own plugin directory (got '$PLUGINDIR')"

env -u CFLAGS -u CPPFLAGS meson setup "$TMP/tpl" "$SRC/sdk/template" >"$TMP/setup.log" 2>&1 &&
    ninja -C "$TMP/tpl" >>"$TMP/setup.log" 2>&1
check $? "sdk/template builds against the build tree" "$TMP/setup.log"

env -u HANGAR_PLUGIN_PATH "$BUILD/host/hangar" plugins --path "$TMP/tpl" >"$TMP/plugins.txt" 2>"$TMP/plugins.err"
grep -q "example-upper" "$TMP/plugins.txt"
check $? "the build's hangar lists the template's engine" "$TMP/plugins.txt"

cat >"$TMP/upper.lua" <<'LUA'
local h = hangar.start { yaml = [[
hangar: 1
pipelines:
  - { name: up, engine: example-upper, listen: "127.0.0.1:0" }
]] }
local c = assert(hangar.tcp.connect(h:address("up"), "2s"))
c:send("hello")
is(c:recv(5, "2s"), "HELLO", "the template engine answers in upper case")
c:close()
done_testing()
LUA
HANGAR_PLUGIN_PATH="$TMP/tpl" "$BUILD/host/hangar" scenario "$TMP/upper.lua" >"$TMP/upper.tap" 2>&1
check $? "and runs it" "$TMP/upper.tap"
exit $failed
