#!/usr/bin/env bash
# Builds the Parquet fuzz target and runs it: tests/fuzz/run.sh [seconds=900]
# Seeds: the parquet-testing fixtures and the Spark files of the Delta golden
# tables up to 64 KiB (larger ones only slow libFuzzer down). The growing
# corpus stays in build-fuzz/corpus; findings go to build-fuzz/artifacts/ and,
# once fixed, to tests/fixtures/fuzz-regressions/.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-900}
cmake -S . -B build-fuzz -DLK_FUZZ=ON -DLK_TESTS=OFF -DCMAKE_C_COMPILER=clang-14 \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j2 --target fuzz_parquet
mkdir -p build-fuzz/corpus build-fuzz/seeds build-fuzz/artifacts
find tests/fixtures/parquet-testing tests/fixtures/delta-golden -type f \
  \( -name '*.parquet' -o -name '*.encrypted' \) -size -65k -print0 |
  while IFS= read -r -d '' f; do
    cp "$f" "build-fuzz/seeds/$(printf '%s' "$f" | md5sum | cut -c1-12).parquet"
  done
build-fuzz/fuzz_parquet -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=512 \
  -timeout=10 -max_len=65536 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ \
  build-fuzz/corpus build-fuzz/seeds
