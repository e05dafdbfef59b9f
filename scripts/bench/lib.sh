# scripts/bench/lib.sh - shared by the benchmark scripts (sourced, not run): builds the reference
# programs into BUILD/bench, starts background processes and stops them by PID on exit, waits for
# ports, and turns paired series (reference A, hangar B, alternated) into table rows and RESULTs.

BENCH_PAIRS=${BENCH_PAIRS:-5}
BENCH_SECS=${BENCH_SECS:-2}
bench_pids=()
bench_results=()
bench_tmp=$(mktemp -d /tmp/hangar-bench.XXXXXX)

bench_cleanup() {
  local p
  for p in "${bench_pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${bench_pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$bench_tmp"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# bench_build_refs BUILD: compiles ref/uv-echo.c, ref/load.c and ref/spawn-time.c when newer.
bench_build_refs() {
  local b=$1/bench src=scripts/bench/ref
  local cflags=(-O2 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
  mkdir -p "$b"
  if [ ! "$b/uv-echo" -nt "$src/uv-echo.c" ]; then
    cc "${cflags[@]}" -o "$b/uv-echo" "$src/uv-echo.c" $(pkg-config --cflags --libs libuv) -lpthread
  fi
  if [ ! "$b/load" -nt "$src/load.c" ]; then
    cc "${cflags[@]}" -o "$b/load" "$src/load.c"
  fi
  if [ ! "$b/spawn-time" -nt "$src/spawn-time.c" ]; then
    cc "${cflags[@]}" -o "$b/spawn-time" "$src/spawn-time.c"
  fi
}

# bench_bg OUTFILE CMD...: starts CMD in the background (stdout to OUTFILE, stderr to
# OUTFILE.err), remembers its PID for the exit trap; the PID is in $bench_last_pid.
bench_bg() {
  local out=$1
  shift
  "$@" >"$out" 2>"$out.err" &
  bench_last_pid=$!
  bench_pids+=("$bench_last_pid")
}

# bench_stop PID: stops one process started by bench_bg (SIGTERM, then waits for it).
bench_stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# bench_wait_file FILE PID: waits (up to 5 s) for FILE to hold a line; fails if PID died.
bench_wait_file() {
  local i
  for i in $(seq 250); do
    if [ -s "$1" ]; then
      return 0
    fi
    kill -0 "$2" 2>/dev/null || { echo "bench: process $2 died:" >&2; cat "$1.err" >&2; return 1; }
    sleep 0.02
  done
  echo "bench: timed out waiting for $1" >&2
  return 1
}

# bench_wait_port PORT PID: waits (up to 5 s) until 127.0.0.1:PORT accepts a connection.
bench_wait_port() {
  local i
  for i in $(seq 250); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    kill -0 "$2" 2>/dev/null || { echo "bench: process $2 died before listening" >&2; cat "$bench_tmp"/*.err >&2; return 1; }
    sleep 0.02
  done
  echo "bench: nothing listens on 127.0.0.1:$1 after 5 s" >&2
  return 1
}

# bench_uv_echo WORKERS: starts the reference echo server; sets $ref_port and $ref_pid.
bench_n=0
bench_uv_echo() {
  local f
  bench_n=$((bench_n + 1))
  f=$bench_tmp/uv-echo.$bench_n
  bench_bg "$f" "$build/bench/uv-echo" -w "$1"
  ref_pid=$bench_last_pid
  bench_wait_file "$f" "$ref_pid"
  ref_port=$(head -n1 "$f")
}

# bench_stats "v1 v2 ...": prints "median min max".
bench_stats() {
  echo "$1" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '
    { v[NR] = $1 }
    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}

# bench_ratios "a1 a2 ..." "b1 b2 ...": prints the pair-by-pair ratios b_i / a_i.
bench_ratios() {
  paste -d' ' <(echo "$1" | tr ' ' '\n' | grep -v '^$') <(echo "$2" | tr ' ' '\n' | grep -v '^$') |
    awk '{ if ($1 > 0) printf "%.4f ", $2 / $1; else printf "0 " }'
}

bench_fmt() {
  awk -v x="$1" 'BEGIN { if (x >= 1e6) printf "%.2fM", x / 1e6; else if (x >= 1e4) printf "%.1fk", x / 1e3; else printf "%.4g", x }'
}

bench_header() {  # bench_header REF_LABEL HANGAR_LABEL
  printf '%-28s %-26s %-26s %-22s %s\n' "row" "$1 median (min-max)" "$2 median (min-max)" \
    "ratio median (min-max)" "target"
}

# bench_row NAME "ref values" "hangar values" TARGET: prints one table row and queues the RESULT
# line (TARGET "-" for none; met when the median ratio is >= TARGET).
bench_row() {
  local name=$1 a=$2 b=$3 target=$4 sa sb sr r verdict na nb
  na=$(echo "$a" | wc -w) nb=$(echo "$b" | wc -w)
  if [ "$na" -eq 0 ] || [ "$na" -ne "$nb" ]; then
    echo "bench: $name: incomplete series ($na reference, $nb hangar figures)" >&2
    exit 1
  fi
  read -r -a sa <<<"$(bench_stats "$a")"
  read -r -a sb <<<"$(bench_stats "$b")"
  read -r -a sr <<<"$(bench_stats "$(bench_ratios "$a" "$b")")"
  r=$(printf '%.3f' "${sr[0]}")
  verdict="-"
  if [ "$target" != "-" ]; then
    verdict=$(awk -v r="$r" -v t="$target" 'BEGIN { print ((r >= t) ? "met" : "MISSED") }')
  fi
  printf '%-28s %-26s %-26s %-22s %s\n' "$name" \
    "$(bench_fmt "${sa[0]}") ($(bench_fmt "${sa[1]}")-$(bench_fmt "${sa[2]}"))" \
    "$(bench_fmt "${sb[0]}") ($(bench_fmt "${sb[1]}")-$(bench_fmt "${sb[2]}"))" \
    "$r ($(printf '%.3f' "${sr[1]}")-$(printf '%.3f' "${sr[2]}"))" \
    "${target/#-/none} $verdict"
  bench_results+=("RESULT name=$name ratio=$r ref=$(printf '%.0f' "${sa[0]}") hangar=$(printf '%.0f' "${sb[0]}") target=$target $verdict")
}

bench_print_results() {
  local l
  for l in "${bench_results[@]}"; do
    echo "$l"
  done
}

# bench_hangar_echo MODE WORKERS: writes a config with one tcp-echo pipeline on runtime MODE
# (uv|blocking|uring) on a free port and starts `hangar run` on it; sets $hg_port and $hg_pid.
bench_hangar_echo() {  # bench_hangar_echo MODE WORKERS [BUILD_DIR: another build, e.g. a baseline]
  local cfg b
  b=$(realpath "${3:-$build}")
  bench_n=$((bench_n + 1))
  cfg=$bench_tmp/echo-$1.$bench_n.yaml
  hg_port=$("$build/bench/load" freeport)
  cat >"$cfg" <<YAML
hangar: 1
plugin_path: [$b/plugins/$1, $b/plugins/tcp]
log: { level: warn }
runtime: { mode: $1, workers: $2 }
pipelines:
  - { name: echo, engine: tcp-echo, listen: 127.0.0.1:$hg_port }
YAML
  bench_bg "$bench_tmp/hangar.$bench_n" "$b/host/hangar" run "$cfg"
  hg_pid=$bench_last_pid
  bench_wait_port "$hg_port" "$hg_pid"
}
