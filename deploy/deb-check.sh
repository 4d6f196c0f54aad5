#!/usr/bin/env bash
# deploy/deb-check.sh — the Debian package as a user meets it. Run it as root on a clean Debian 12,
# for example in a fresh root filesystem:
#
#   ../shared/tools/fresh-debian-check -- ./deploy/deb-check.sh
#
# 1. builds the .deb (cpack -G DEB, Release);
# 2. purges every package the build installed, so that the next step has only what the .deb declares;
# 3. `apt-get install ./lakesupd_*.deb`: the binary, the unit, the man page and /etc/lakesupd/lakesup.yml
#    are in place, and `lakesupd start --trigger available-now` from the installed paths turns the
#    bundled sample into tables holding every input line once;
# 4. `apt-get remove` leaves no file of the package behind (the unchanged example configuration goes
#    with it) but the data; an edited configuration survives `remove` and goes with `purge`.
# It fails naming the step and the file. It changes the machine (packages, the data folders of the installed configuration):
# use a throw-away one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
[ "$(id -u)" = 0 ] || { echo "deb-check: run it as root on a throw-away Debian 12 (it installs and removes packages)" >&2; exit 2; }
fail() { echo "deb-check: FAILED: $*" >&2; exit 1; }
say() { echo "== deb-check: $*"; }

# the check proves the package's dependencies by purging what the build installs: on a machine that
# had the build tools before, nothing would be purged and nothing proven
for tool in cmake cc; do
  ! command -v "$tool" >/dev/null ||
    fail "$tool is installed already: run this on a Debian 12 without the build dependencies (before deploy/run-sample.sh or tests/run.sh)"
done
before=$(mktemp)
dpkg-query -W -f '${Package}\n' | sort >"$before"

say "build the package"
deploy/install-deps.sh
cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-deb -j"$(nproc 2>/dev/null || echo 2)"
(cd build-deb && cpack -G DEB >/dev/null)
deb=$(ls "$ROOT"/build-deb/lakesupd_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "cpack made no build-deb/lakesupd_*.deb"
cp "$deb" /var/tmp/ && deb=/var/tmp/$(basename "$deb")
dpkg-deb -I "$deb" | sed -n 's/^ \(Depends\|Recommends\):/  \1:/p'

say "purge what the build installed (the package must bring its own dependencies)"
# shellcheck disable=SC2046
added=$(dpkg-query -W -f '${Package}\n' | sort | comm -13 "$before" -)
[ -z "$added" ] || DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $added >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -qq >/dev/null
hash -r # bash remembers where cmake was: forget it, so that command -v looks again
for tool in cmake cc pkg-config; do
  ! command -v "$tool" >/dev/null || fail "$tool is still installed after the purge: the check would not prove the dependencies"
done

say "apt-get install $(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
for f in /usr/bin/lakesupd /etc/lakesupd/lakesup.yml /usr/share/man/man1/lakesupd.1; do
  [ -e "$f" ] || fail "the package did not install $f"
done
unit=$(dpkg -L lakesupd | grep '/lakesupd\.service$' | head -1)
[ -n "$unit" ] && [ -e "$unit" ] || fail "the package did not install lakesupd.service"
grep -q '^Type=notify' "$unit" || fail "$unit is not Type=notify"
lakesupd --version

say "lakesupd start --trigger available-now from the installed paths, on the bundled sample"
# the paths of the installed configuration (the service's: /var/lib/lakesupd/...)
conf_path() { lakesupd config show -c /etc/lakesupd/lakesup.yml | sed -n "s/^$1: \"\(.*\)\"$/\1/p"; }
incoming=$(conf_path source_path) checkpoints=$(conf_path checkpoint_path) lakehouse=$(conf_path warehouse_path)
[ -n "$incoming" ] && [ -n "$checkpoints" ] && [ -n "$lakehouse" ] || fail "lakesupd config show gives no paths"
[ ! -e "$incoming" ] && [ ! -e "$lakehouse" ] || fail "$incoming or $lakehouse exists already: use a clean machine"
mkdir -p "$incoming"
cp deploy/sample/*.jsonl "$incoming/"
lines=$(cat "$incoming"/*.jsonl | grep -c .)
(cd / && lakesupd start -c /etc/lakesupd/lakesup.yml --trigger available-now) || fail "lakesupd start exited $?"
# every line in raw_events (a malformed one with its text in _corrupt_record: the sample has 12),
# every well-formed one in processed_events
read_rows() { lakesupd table read "$@" -c /etc/lakesupd/lakesup.yml --format jsonl; }
raw=$(read_rows raw_events | grep -c .)
corrupt=$(read_rows raw_events --columns _corrupt_record | grep -vc '"_corrupt_record":null' || true)
silver=$(read_rows processed_events | grep -c .)
[ "$raw" = "$lines" ] || fail "raw_events holds $raw rows for $lines input lines"
[ "$corrupt" -gt 0 ] && [ "$silver" = $((lines - corrupt)) ] ||
  fail "processed_events holds $silver rows for $lines input lines of which $corrupt malformed"
echo "  raw_events: $raw rows ($corrupt malformed), processed_events: $silver rows; input: $lines lines; under $lakehouse"

say "apt-get remove: nothing of the package is left but the data"
files=$(dpkg -L lakesupd | while read -r f; do [ -f "$f" ] && echo "$f"; done)
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq lakesupd >/dev/null
left=""
for f in $files /etc/lakesupd/lakesup.yml; do [ -e "$f" ] && left="$left $f"; done
[ -z "$left" ] || fail "apt-get remove left:$left"
[ ! -e /etc/lakesupd ] || fail "apt-get remove left /etc/lakesupd"
[ -d "$lakehouse/main" ] && [ -f "$checkpoints/state.db" ] || fail "apt-get remove took the data ($lakehouse, $checkpoints)"

say "an edited configuration survives remove and goes with purge"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
echo "log_level: debug" >>/etc/lakesupd/lakesup.yml
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq lakesupd >/dev/null
grep -q '^log_level: debug$' /etc/lakesupd/lakesup.yml || fail "apt-get remove did not keep the edited /etc/lakesupd/lakesup.yml"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq lakesupd >/dev/null
[ ! -e /etc/lakesupd ] || fail "apt-get purge left /etc/lakesupd"
[ -d "$lakehouse/main" ] || fail "apt-get purge took the data ($lakehouse)"
rm -rf "$incoming" "$checkpoints" "$lakehouse" "$deb" "$before"
say "passed"
