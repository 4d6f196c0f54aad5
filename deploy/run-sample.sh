#!/usr/bin/env bash
# The main job (README): installs what is needed, builds, and runs the
# pipeline once (available-now) on the bundled sample data with the built-in
# defaults — local directory source, local Delta tables, SQLite state — then
# shows where the tables are and a few rows read back.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target lakesupd # the daemon alone

RUN=${LAKESUP_SAMPLE_DIR:-$ROOT/sample-run}
rm -rf "$RUN"
mkdir -p "$RUN/incoming"
cp deploy/sample/*.jsonl "$RUN/incoming/"
cd "$RUN"
echo "== lakesupd start --trigger available-now   (in $RUN, default configuration)"
start=$(date +%s%N)
"$ROOT/build/lakesupd" start --trigger available-now
end=$(date +%s%N)
rows=$(cat incoming/*.jsonl | grep -c . || true)
echo
ms=$(( (end - start) / 1000000 ))
echo "== $rows input lines in ${ms} ms ($(( rows * 1000 / (ms > 0 ? ms : 1) )) lines/s)"
echo
"$ROOT/build/lakesupd" table list
for t in raw_events processed_events; do
  echo
  echo "== first rows of $t  (lakesupd table read $t --limit 3)"
  "$ROOT/build/lakesupd" table read "$t" --limit 3
done
echo
echo "Tables are under $RUN/lakehouse/main/streaming/ — read them with DuckDB, Spark, delta-rs or Trino."
