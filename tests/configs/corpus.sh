#!/usr/bin/env bash
# corpus.sh - runs `hangar check` over the config corpora and speaks TAP, one line per file:
#   good/*.yaml        must pass (exit 0);
#   bad/NAME.yaml      must exit 2, print nothing on stdout and exactly NAME.expect on stderr;
#   bad-engine/*.yaml  (errors found by engines) must exit 2 with every stderr line at the file,
#                      and match NAME.expect exactly when one exists;
#   plus files that cannot live in git: one over the size limit, a directory, a missing file and
#   an unreadable one, made in a temporary directory.
# Usage: corpus.sh HANGAR_BINARY SOURCE_DIR   (SOURCE_DIR is tests/configs)
set -u

hangar=$(realpath "$1")
plugins=$(realpath "$(dirname "$hangar")/../plugins")
src=$(realpath "$2")
# The fixture processors (tests/plugins/good) for the graph cases of bad-engine/.
export HANGAR_PLUGIN_PATH=$(realpath "$(dirname "$hangar")/../tests/plugins/good")
tmp=$(mktemp -d)
trap 'chmod -R u+rwx "$tmp"; rm -rf "$tmp"' EXIT

n=0
failed=0

report() { # report OK NAME [DIAG...]
    local ok=$1 name=$2
    shift 2
    n=$((n + 1))
    if [ "$ok" = 1 ]; then
        echo "ok $n - $name"
    else
        failed=$((failed + 1))
        echo "not ok $n - $name"
        for line in "$@"; do
            printf '%s\n' "$line" | sed 's/^/# /'
        done
    fi
}

# check_exact DIR FILE EXPECTED_STDERR_FILE NAME: exit 2, empty stdout, exact stderr.
check_exact() {
    local dir=$1 file=$2 expect=$3 name=$4 rc
    (cd "$dir" && "$hangar" check "$file" >"$tmp/out" 2>"$tmp/err.raw")
    rc=$?
    # the search path differs between machines: the note saying it must name the build's own
    # plugin directory, and the expected text has @SEARCH_PATH@ in its place
    if grep -q '^note: plugins were searched for in ' "$tmp/err.raw" &&
        ! grep -q "^note: plugins were searched for in .*$plugins" "$tmp/err.raw"; then
        echo "the search-path note does not name $plugins" >>"$tmp/err.raw"
    fi
    sed 's|^\(note: plugins were searched for in \).*|\1@SEARCH_PATH@|' "$tmp/err.raw" >"$tmp/err"
    if [ $rc -eq 2 ] && [ ! -s "$tmp/out" ] && cmp -s "$tmp/err" "$expect"; then
        report 1 "$name"
    else
        report 0 "$name" "exit status $rc (want 2)" "stdout:" "$(cat "$tmp/out")" \
            "stderr differs from the expected:" "$(diff "$expect" "$tmp/err")"
    fi
}

shopt -s nullglob
good=("$src"/good/*.yaml)
bad=("$src"/bad/*.yaml)
badeng=("$src"/bad-engine/*.yaml)
echo "TAP version 13"
echo "1..$(( ${#good[@]} + ${#bad[@]} + ${#badeng[@]} + 4 ))"

for f in "${good[@]}"; do
    base=$(basename "$f")
    (cd "$src/good" && "$hangar" check "$base" >"$tmp/out" 2>"$tmp/err")
    rc=$?
    if [ $rc -eq 0 ]; then
        report 1 "check accepts good/$base"
    else
        report 0 "check accepts good/$base" "exit status $rc (want 0)" "$(cat "$tmp/err")"
    fi
done

for f in "${bad[@]}"; do
    base=$(basename "$f" .yaml)
    if [ ! -f "$src/bad/$base.expect" ]; then
        report 0 "check rejects bad/$base.yaml as expected" "no $base.expect beside it"
        continue
    fi
    check_exact "$src/bad" "$base.yaml" "$src/bad/$base.expect" \
        "check rejects bad/$base.yaml with exactly the expected messages"
done

for f in "${badeng[@]}"; do
    base=$(basename "$f" .yaml)
    if [ -f "$src/bad-engine/$base.expect" ]; then
        check_exact "$src/bad-engine" "$base.yaml" "$src/bad-engine/$base.expect" \
            "check rejects bad-engine/$base.yaml with exactly the expected messages"
        continue
    fi
    (cd "$src/bad-engine" && "$hangar" check "$base.yaml" >"$tmp/out" 2>"$tmp/err")
    rc=$?
    if [ $rc -eq 2 ] && [ ! -s "$tmp/out" ] && [ -s "$tmp/err" ] &&
        ! grep -v "^note: " "$tmp/err" | grep -qv "^$base\.yaml:"; then
        report 1 "check rejects bad-engine/$base.yaml with messages at the file"
    else
        report 0 "check rejects bad-engine/$base.yaml with messages at the file" \
            "exit status $rc (want 2)" "stdout:" "$(cat "$tmp/out")" "stderr:" "$(cat "$tmp/err")"
    fi
done

# A file one byte over the 1 MiB limit, refused before it is read.
mkdir -p "$tmp/gen"
{ echo "hangar: 1"; head -c $((1048576 - 10)) /dev/zero | tr '\0' '#'; echo; } >"$tmp/gen/big.yaml"
size=$(stat -c %s "$tmp/gen/big.yaml")
echo "big.yaml: config file is $size bytes, over the limit of 1048576 bytes" >"$tmp/big.expect"
check_exact "$tmp/gen" big.yaml "$tmp/big.expect" "check refuses a file over the size limit"

mkdir "$tmp/gen/adir.yaml"
echo "adir.yaml: is a directory, not a config file" >"$tmp/dir.expect"
check_exact "$tmp/gen" adir.yaml "$tmp/dir.expect" "check refuses a directory given as the file"

echo "no-such-file.yaml: no such config file" >"$tmp/missing.expect"
check_exact "$tmp/gen" no-such-file.yaml "$tmp/missing.expect" "check refuses a missing file"

echo "hangar: 1" >"$tmp/gen/secret.yaml"
chmod 000 "$tmp/gen/secret.yaml"
if [ -r "$tmp/gen/secret.yaml" ]; then
    n=$((n + 1))
    echo "ok $n - check refuses an unreadable file # SKIP running with permission to read anything"
else
    echo "secret.yaml: cannot read the config file: Permission denied" >"$tmp/perm.expect"
    check_exact "$tmp/gen" secret.yaml "$tmp/perm.expect" "check refuses an unreadable file"
fi

[ $failed -eq 0 ]
