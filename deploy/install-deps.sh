#!/usr/bin/env bash
# Installs what lakesupd needs on Debian 12, with apt-get only; idempotent:
# it runs `apt-get update` and `apt-get install` only for packages that are
# missing. `--test` also installs the test-side tools (DuckDB's Node API,
# used as an independent reader of the tables, and playwright-core, which
# drives Debian's chromium in the dashboard test, with npm; Prometheus and
# Alertmanager for the monitoring tests). `--fuzz` installs
# clang-14 and its compiler-rt (libFuzzer, sanitizers) for -DLK_FUZZ=ON.
# apt-get runs as root: directly when run as root, else through sudo; a
# machine with neither (a minimal install) gets the command to run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config git
  libzmq3-dev libczmq-dev libmsgpack-dev libsqlite3-dev sqlite3 libyaml-dev
  libzstd-dev libsnappy-dev zlib1g-dev libbz2-dev libyajl-dev libxxhash-dev
  librdkafka-dev libsystemd-dev libmicrohttpd-dev libcurl4-openssl-dev
  libpcre2-dev nettle-dev libunistring-dev
  check libsubunit-dev scdoc
  file # cpack -G DEB: CPackDeb needs file(1) for its dependency list (dpkg-shlibdeps)
)
# zstd, bzip2: the tests unpack expected tables (`tar --zstd`) and compress
# inputs; ca-certificates: npm's registry is https; prometheus,
# prometheus-alertmanager, chromium: the monitoring tests run the real ones;
# iproute2 (ip netns, veth) and socat: the multi-host tests' hosts and their
# relays; systemd: systemd-analyze verify/security of the unit; man-db: the
# man page renders; dpkg-dev: cpack's dependency list (dpkg-shlibdeps);
# faketime: tests/chaos/soak's clock jumps
TEST_PACKAGES=(clang libclang-rt-14-dev libjansson-dev libjson-c-dev zstd bzip2 ca-certificates
  prometheus prometheus-alertmanager chromium iproute2 socat systemd man-db dpkg-dev
  faketime)
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
# node and npm (tests only): Debian's (Node 18) unless a usable node (>= 18.19,
# for `node --test --test-concurrency`) is on the PATH already; npm alone when
# that node came without it
node_ok() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a === 18 && b >= 19) ? 0 : 1)' \
    >/dev/null 2>&1
}
if [ "$want_test" = 1 ]; then
  if ! node_ok; then
    all+=(nodejs npm)
  elif ! command -v npm >/dev/null 2>&1; then
    all+=(npm)
  fi
fi

missing=()
for p in "${all[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      {
        echo "install-deps: missing Debian packages: ${missing[*]}"
        echo "install-deps: not root and no sudo here; as root, run:"
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
        echo "install-deps: (or run this script as root), then run it again"
      } >&2
      exit 1
    fi
    SUDO=(sudo)
  fi
  echo "install-deps: installing ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi

if [ "$want_test" = 1 ]; then
  if ! node_ok; then
    echo "install-deps: the node on the PATH ($(command -v node || echo none), $(node --version 2>/dev/null)) is older" \
      "than 18.19, which the tests need (Debian 12's nodejs is /usr/bin/node)" >&2
    exit 1
  fi
  tests/e2e/install.sh
fi
