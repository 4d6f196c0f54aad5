#!/usr/bin/env bash
# Throughput of the ways to scale on one host (docs/operations.md, "Scaling"):
# `lakesupd start --trigger available-now` over the same input with 1, 2 and 3
# transforms (writer 2), and two instances (source.shard 0 and 1 of 2, each its
# own checkpoint, the same tables) against one. Wall clock from start to the
# last exit, median of RUNS; rows/s = input rows / that time.
# Usage: bench/scale.sh [BUILD_DIR] (ROWS=1000000 FILES=20 RUNS=3)
set -euo pipefail
BUILD=${1:-build}
BIN=$(cd "$BUILD" && pwd)/lakesupd
GEN=$(cd "$BUILD" && pwd)/lk_gen
ROWS=${ROWS:-1000000}
FILES=${FILES:-20}
RUNS=${RUNS:-3}
W=$(mktemp -d "${TMPDIR:-/tmp}/lk-scale-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/in"
"$GEN" --out "$W/in" --files "$FILES" --rows $((ROWS / FILES)) --seed 42 >/dev/null
MB=$(du -sm "$W/in" | cut -f1)

config() { # name transform [shard_index shard_count]
  local f="$W/$1.yml"
  printf 'pipeline: bench\nsource_path: %s/in\ncheckpoint_path: %s/cp-%s\nwarehouse_path: %s/lh\nworkers: {transform: %s, writer: 2}\n' \
    "$W" "$W" "$1" "$W" "$2" >"$f"
  [ $# -gt 2 ] && printf 'source:\n  shard: {index: %s, count: %s}\n' "$3" "$4" >>"$f"
  echo "$f"
}
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
clean() { rm -rf "$W"/cp-* "$W/lh"; }

run_one() { # transforms
  local t0 c
  c=$(config one "$1")
  clean
  t0=$(now_ms)
  "$BIN" start -c "$c" --trigger available-now 2>/dev/null
  echo $(($(now_ms) - t0))
}
run_two() { # transforms per instance
  local t0 a b pa pb
  a=$(config s0 "$1" 0 2)
  b=$(config s1 "$1" 1 2)
  clean
  t0=$(now_ms)
  "$BIN" start -c "$a" --trigger available-now 2>/dev/null &
  pa=$!
  "$BIN" start -c "$b" --trigger available-now 2>/dev/null &
  pb=$!
  wait $pa
  wait $pb
  echo $(($(now_ms) - t0))
}

echo "input: $ROWS rows, $FILES files, $MB MB; $(nproc) cores; median of $RUNS"
echo "| setup | wall ms | rows/s |"
echo "|---|---|---|"
for t in 1 2 3; do
  ms=$(for i in $(seq "$RUNS"); do run_one "$t"; done | median)
  echo "| one instance, transform $t, writer 2 | $ms | $((ROWS * 1000 / ms)) |"
done
for t in 1; do
  ms=$(for i in $(seq "$RUNS"); do run_two "$t"; done | median)
  echo "| two instances (source.shard 0/2, 1/2), each transform $t, writer 2 | $ms | $((ROWS * 1000 / ms)) |"
done
