#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is needed, builds four
# times (normal; AddressSanitizer + UndefinedBehaviorSanitizer; Release -O3,
# compile only; clang with libFuzzer, whose fuzz targets run a fixed number of
# executions), runs the unit tests on the first two builds and the end-to-end
# and chaos tests (real daemon, real files, DuckDB as the independent reader)
# on both.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=$(nproc 2>/dev/null || echo 2)

# each step says when it starts and how long the one before took (CI keeps the suite under 20 minutes)
T0=$SECONDS TS=$SECONDS
step() { echo "== $* [at $((SECONDS - T0)) s; the previous step took $((SECONDS - TS)) s]"; TS=$SECONDS; }

deploy/install-deps.sh --test

# -Werror here and for developers (LK_WERROR); never forced on packagers.
step "build (RelWithDebInfo, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLK_WERROR=ON -DLK_BENCH=ON -DLK_TESTS=ON >/dev/null
cmake --build build -j"$JOBS"
step "build (ASan + UBSan, -Werror)"
cmake -S . -B build-asan -DLK_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DLK_WERROR=ON -DLK_TESTS=ON >/dev/null
cmake --build build-asan -j"$JOBS"
# compile only, so that it does not rot: what packagers build (Release, -O3)
step "build (Release -O3, -Werror; compile only)"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DLK_WERROR=ON -DLK_BENCH=ON -DLK_TESTS=ON >/dev/null
cmake --build build-release -j"$JOBS"
# the other compiler (clang, -Werror) builds every target with libFuzzer, ASan and
# UBSan, and each fuzz target (Parquet, CSV, sources, JSON, SQL, messages, time zones) runs a fixed number of
# executions from its seeds and the hostile corpus (tests/fuzz/run.sh)
step "build (clang, -Werror, libFuzzer + ASan + UBSan) and the fuzz targets"
LK_WERROR=ON tests/fuzz/run.sh --all --hostile --runs "${LK_FUZZ_RUNS:-10000}"

# lakesupd processes of this clone's two builds (found by their executable, so
# other checkouts' daemons on the same machine are not touched) that outlive
# the step that started them: every test stops what it starts, so one left
# over is reported, and killed so that it cannot load or disturb the next steps.
strays() {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    case "$exe" in
      "$ROOT/build/lakesupd" | "$ROOT/build-asan/lakesupd") echo "${p#/proc/}" ;;
    esac
  done
}
reap_strays() {
  local pids i p
  for i in $(seq 1 50); do # workers exit with their supervisor: give them 5 s
    pids=$(strays)
    [ -z "$pids" ] && return 0
    sleep 0.1
  done
  echo "run.sh: lakesupd processes left running after '$1' (killed):" >&2
  for p in $pids; do
    echo "  pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >&2
    kill -KILL "$p" 2>/dev/null || true
  done
}
# Every test works below one directory of this run (TMPDIR), which must be
# empty once they pass: a test that leaves files behind fails the run. A
# failing run keeps it for inspection.
RUN_TMP=$(mktemp -d "${TMPDIR:-/tmp}/lakesupd-run.XXXXXX")
export TMPDIR=$RUN_TMP
on_exit() {
  local rc=$?
  reap_strays "the run (exit)"
  if [ "$rc" -eq 0 ]; then rm -rf "$RUN_TMP"; else echo "run.sh: test files kept in $RUN_TMP" >&2; fi
}
trap on_exit EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

step "unit tests (normal build)"
(cd build && ctest --output-on-failure -j"$JOBS")
step "unit tests (ASan + UBSan)"
# the sanitizers make every suite 3-5x slower: Check's per-test timeouts follow
(cd build-asan && CK_TIMEOUT_MULTIPLIER=4 ctest --output-on-failure -j"$JOBS")

# The end-to-end and chaos passes of the two builds run side by side, each in its own node process:
# most of their time is waiting (timers, polls, a real Prometheus, Kafka and Chromium), so on two
# cores the pair takes little more than the longer one. The tests are made for it: every test has
# its own directories, loopback ports chosen by the kernel, network namespaces named after its pid,
# and load-tolerant bounds. Each pass writes its log; a failing pass's log is printed whole.
e2e_pass() { # NAME LAKESUPD QUICK: tests/e2e then tests/chaos (both run, either failing fails the pass)
  local rc=0
  export LAKESUPD_BIN="$2" LK_GEN_BIN="$ROOT/build/lk_gen"
  [ "$3" = 1 ] && export LK_E2E_QUICK=1
  node --test --test-concurrency=1 tests/e2e/ || rc=1
  node --test --test-concurrency=1 tests/chaos/ || rc=1
  return $rc
}
step "end-to-end and chaos tests (real daemon, DuckDB as the reader, random SIGKILLs): the normal and the ASan + UBSan builds side by side"
e2e_pass normal "$ROOT/build/lakesupd" 0 >"$ROOT/build/e2e-normal.log" 2>&1 &
pid_normal=$!
e2e_pass asan "$ROOT/build-asan/lakesupd" 1 >"$ROOT/build-asan/e2e-asan.log" 2>&1 &
pid_asan=$!
rc_normal=0 rc_asan=0
wait "$pid_normal" || rc_normal=$?
wait "$pid_asan" || rc_asan=$?
reap_strays "end-to-end and chaos tests"
for pass in "normal build/e2e-normal.log $rc_normal" "ASan+UBSan build-asan/e2e-asan.log $rc_asan"; do
  set -- $pass
  if [ "$3" -eq 0 ]; then
    echo "-- $1 build: passed ($2): $(grep -E '^# (tests|pass|fail|skipped) ' "$2" | tr '\n' ' ')"
  else
    echo "-- $1 build: FAILED; its log ($2):"
    cat "$2"
  fi
done
[ "$rc_normal" -eq 0 ] && [ "$rc_asan" -eq 0 ] || { echo "run.sh: end-to-end or chaos tests failed (logs above)" >&2; exit 1; }
step "benchmarks, small sizes (no timing asserted)" && bench/run --quick
# what the tests left behind (the benchmarks' generated inputs are a cache, on purpose)
left=$(find "$RUN_TMP" -mindepth 1 -maxdepth 1 ! -name "lakesupd-bench-*" ! -name "lk-wallclock-data-*")
if [ -n "$left" ]; then
  echo "run.sh: the tests passed but left files behind in $RUN_TMP:" >&2
  echo "$left" >&2
  exit 1
fi
step "all tests passed"
