#!/usr/bin/env bash
# Installs what lakesupd needs on Debian 12, with apt-get only; idempotent:
# it runs `apt-get update` and `apt-get install` only for packages that are
# missing. `--test` also installs the test-side tools (DuckDB's Node API,
# used as an independent reader of the tables) with npm. `--fuzz` installs
# clang-14 and its compiler-rt (libFuzzer, sanitizers) for -DLK_FUZZ=ON.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config git
  libzmq3-dev libczmq-dev libmsgpack-dev libsqlite3-dev sqlite3 libyaml-dev
  libzstd-dev libsnappy-dev zlib1g-dev libbz2-dev libyajl-dev
  librdkafka-dev libsystemd-dev libmicrohttpd-dev libcurl4-openssl-dev
  libpcre2-dev nettle-dev
  check libsubunit-dev
)
TEST_PACKAGES=(clang libclang-rt-14-dev libjansson-dev libjson-c-dev)
FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)

want_test=0
want_fuzz=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    --fuzz) want_fuzz=1 ;;
    *) echo "install-deps.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

all=("${PACKAGES[@]}")
[ "$want_test" = 1 ] && all+=("${TEST_PACKAGES[@]}")
[ "$want_fuzz" = 1 ] && all+=("${FUZZ_PACKAGES[@]}")
# node and npm: only when no usable node (>= 18) is on the PATH already
if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 18 ]; then
  [ "$want_test" = 1 ] && all+=(nodejs npm)
fi

missing=()
for p in "${all[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi

if [ "$want_test" = 1 ]; then
  tests/e2e/install.sh
fi
