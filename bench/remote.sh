#!/usr/bin/env bash
# Throughput with remote transforms (docs/operations.md, "Scaling"): `lakesupd
# start --trigger available-now` over the same input with 1 local transform
# (writer 2), then the same pipeline with workers.remote and a `lakesupd
# worker-host` on this host's loopback adding 1 and 2 transforms over CURVE.
# Wall clock from start to exit, median of RUNS; rows/s = input rows / that time.
# On one host this measures the cost of the link (every chunk out, every record
# batch back, encrypted), not the gain of another host's cores.
# Usage: bench/remote.sh [BUILD_DIR] (ROWS=1000000 FILES=20 RUNS=3)
set -euo pipefail
BUILD=${1:-build}
BIN=$(cd "$BUILD" && pwd)/lakesupd
GEN=$(cd "$BUILD" && pwd)/lk_gen
ROWS=${ROWS:-1000000}
FILES=${FILES:-20}
RUNS=${RUNS:-3}
PORT=${PORT:-$((20000 + $$ % 20000))}
W=$(mktemp -d "${TMPDIR:-/tmp}/lk-remote-bench.XXXXXX")
WH=
trap '[ -n "$WH" ] && kill "$WH" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/in" "$W/allowed"
"$GEN" --out "$W/in" --files "$FILES" --rows $((ROWS / FILES)) --seed 42 >/dev/null
MB=$(du -sm "$W/in" | cut -f1)
"$BIN" keygen --out "$W/server.key" >/dev/null
"$BIN" keygen --out "$W/host.key" >/dev/null
cp "$W/host.key" "$W/allowed/"

config() { # remote(0|1)
  local f="$W/p.yml"
  printf 'pipeline: bench\nsource_path: %s/in\ncheckpoint_path: %s/cp\nwarehouse_path: %s/lh\nworkers:\n  transform: 1\n  writer: 2\n' \
    "$W" "$W" "$W" >"$f"
  [ "$1" = 1 ] && printf '  remote: {bind: "tcp://127.0.0.1:%s", allowed_keys: %s/allowed, key: %s/server.key}\n' \
    "$PORT" "$W" "$W" >>"$f"
  echo "$f"
}
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run_one() { # remote(0|1)
  local t0 c
  c=$(config "$1")
  rm -rf "$W/cp" "$W/lh"
  t0=$(now_ms)
  "$BIN" start -c "$c" --trigger available-now 2>"$W/last.log"
  echo $(($(now_ms) - t0))
}

echo "input: $ROWS rows, $FILES files, $MB MB; $(nproc) cores; median of $RUNS"
echo "| setup | wall ms | rows/s | chunks to the remote transforms |"
echo "|---|---|---|---|"
ms=$(for i in $(seq "$RUNS"); do run_one 0; done | median)
echo "| transform 1 local, writer 2 | $ms | $((ROWS * 1000 / ms)) | - |"
for n in 1 2; do
  # one worker host for every run: it joins each new pipeline by itself
  "$BIN" worker-host --connect "tcp://127.0.0.1:$PORT" --key "$W/host.key" --server-key "$W/server.key" \
    --dir "$W/wh" "transform=$n" 2>"$W/wh.log" &
  WH=$!
  ms=$(for i in $(seq "$RUNS"); do run_one 1; done | median)
  chunks=$(grep -o 'took [0-9]* chunks' "$W/last.log" | tail -1 | tr -dc 0-9 || true)
  echo "| transform 1 local + $n remote (worker-host on loopback), writer 2 | $ms | $((ROWS * 1000 / ms)) | $chunks |"
  kill "$WH"
  wait "$WH" || true
  WH=
done
