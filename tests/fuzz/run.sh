#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs them:
#   tests/fuzz/run.sh [--runs N | --seconds S] [--hostile] [--all] [TARGET...]
# TARGET is parquet, csv, source, json, sql, msg or tz (default: all seven); --runs N runs
# each for exactly N executions (CI), --seconds S (default 900) for S seconds
# each (the long runs of docs/reliability.md; several targets run one after
# the other — start several run.sh for parallel runs). The seeds are
#   parquet: the parquet-testing fixtures and the Spark files of the Delta
#            golden tables up to 64 KiB (larger ones only slow libFuzzer down);
#   csv, source, json: tests/fuzz/seeds/<target>/ (first byte: the target's
#            options, see each fuzz_*.c), plus with --hostile the hostile
#            corpus of tests/hostile (tests/hostile/gen.mjs --seeds);
#   sql:     tests/fuzz/seeds/sql/ (expression texts) and the token
#            dictionary tests/fuzz/sql.dict (the hostile corpus is data, not
#            expressions: not fed to it);
#   msg:     one message of each type, written by the target itself
#            (fuzz_msg --write-seeds: they follow the protocol's version);
#   tz:      tests/fuzz/seeds/tz/: real TZif zone files of the tz database
#            and POSIX TZ rules (rule-*, after an options byte; see fuzz_tz.c).
# The growing corpus stays in build-fuzz/corpus-<target>; findings go to
# build-fuzz/artifacts/ and, once fixed, to tests/fixtures/fuzz-regressions/.
# --all builds every target of the tree with it (clang, -Werror when LK_WERROR=ON: CI's
# clang build is this one). Each run ends with libFuzzer's final stats
# (stat::number_of_executed_units), which docs/reliability.md quotes. Exit status:
# non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=900 runs="" hostile=0 all=0 targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    --hostile) hostile=1; shift ;;
    --all) all=1; shift ;;
    [0-9]*) secs=$1; shift ;; # the old form: run.sh SECONDS
    parquet | csv | source | json | sql | msg | tz) targets+=("$1"); shift ;;
    *) echo "usage: tests/fuzz/run.sh [--runs N | --seconds S] [--hostile] [--all] [parquet|csv|source|json|sql|msg|tz]..." >&2
       exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(parquet csv source json sql msg tz)
B=${LK_FUZZ_BUILD:-build-fuzz}
tests=OFF
[ "$all" = 1 ] && tests=ON # the unit tests compile with clang too (they run on the other builds)
cmake -S . -B "$B" -DLK_FUZZ=ON -DLK_TESTS="$tests" -DLK_BENCH=ON -DLK_WERROR="${LK_WERROR:-OFF}" \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=Debug >/dev/null
if [ "$all" = 1 ]; then
  cmake --build "$B" -j"$(nproc 2>/dev/null || echo 2)"
else
  cmake --build "$B" -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]/#/fuzz_}" >/dev/null
fi
mkdir -p "$B/artifacts"
for t in "${targets[@]}"; do
  seeds="$B/seeds-$t"
  rm -rf "$seeds"
  mkdir -p "$B/corpus-$t" "$seeds"
  if [ "$t" = parquet ]; then
    find tests/fixtures/parquet-testing tests/fixtures/delta-golden -type f \
      \( -name '*.parquet' -o -name '*.encrypted' \) -size -65k -print0 |
      while IFS= read -r -d '' f; do
        cp "$f" "$seeds/$(printf '%s' "$f" | md5sum | cut -c1-12).parquet"
      done
  elif [ "$t" = msg ]; then
    "$B/fuzz_msg" --write-seeds "$seeds"
  else
    for f in tests/fuzz/seeds/"$t"/*; do # a folder's README.md says where its seeds come from
      case "$f" in */README.md) ;; *) cp "$f" "$seeds/" ;; esac
    done
    if [ "$hostile" = 1 ] && [ "$t" != sql ] && [ "$t" != tz ]; then
      node tests/hostile/gen.mjs --seeds "$seeds" --target "$t" --seed 1
    fi
  fi
  limit=(-max_total_time="$secs")
  [ -n "$runs" ] && limit=(-runs="$runs" -seed=1)
  [ -f "tests/fuzz/$t.dict" ] && limit+=(-dict="tests/fuzz/$t.dict")
  what="$secs s"
  [ -n "$runs" ] && what="$runs executions"
  echo "== fuzz_$t: $what, $(ls "$seeds" | wc -l) seeds"
  # -max_len 64 KiB: long enough for every seed but a 10 MB string (those are
  # the e2e test's), short enough to keep the execution rate up
  "$B/fuzz_$t" "${limit[@]}" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=20 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" \
    "$B/corpus-$t" "$seeds"
done
