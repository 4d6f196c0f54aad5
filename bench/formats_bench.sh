#!/bin/sh
# formats_bench.sh — ingest throughput per source format (docs/sources.md):
# the same lk_gen events as JSON lines, .jsonl.gz, .jsonl.zst, .jsonl.bz2, CSV
# and text, each ingested by `lakesupd start --trigger available-now` into
# fresh tables; prints input MB/s (decompressed bytes) and rows/s.
# usage: bench/formats_bench.sh BUILD_DIR [FILES] [ROWS_PER_FILE]
set -eu
B=${1:-build}; FILES=${2:-4}; ROWS=${3:-100000}
W=$(mktemp -d /tmp/lk-fmt-bench-XXXXXX)
"$B/lk_gen" --out "$W/src" --files "$FILES" --rows "$ROWS" --seed 7 >/dev/null
mk() { mkdir -p "$W/$1/in"; printf 'pipeline: b%s\nsource_path: %s\ncheckpoint_path: %s\nwarehouse_path: %s\nsource:\n%s\n' \
  "$1" "$W/$1/in" "$W/$1/cp" "$W/$1/lh" "$2" > "$W/$1/c.yml"; }
mk json '  format: json'; cp "$W"/src/*.jsonl "$W/json/in/"
mk gz '  format: json'; for f in "$W"/src/*.jsonl; do gzip -6 -c "$f" > "$W/gz/in/$(basename "$f").gz"; done
mk zst '  format: json'; for f in "$W"/src/*.jsonl; do zstd -q -3 -c "$f" > "$W/zst/in/$(basename "$f").zst"; done
mk bz2 '  format: json'; for f in "$W"/src/*.jsonl; do bzip2 -c "$f" > "$W/bz2/in/$(basename "$f").bz2"; done
mk text '  format: text'; for f in "$W"/src/*.jsonl; do cp "$f" "$W/text/in/$(basename "$f" .jsonl).txt"; done
mk csv '  format: csv\n  header: true'
node -e '
const fs=require("fs"),path=require("path");const [src,dst]=process.argv.slice(1);
const q=(v)=>v===null||v===undefined?"":typeof v==="string"?"\""+v.replaceAll("\"","\"\"")+"\"":String(v);
for(const f of fs.readdirSync(src)){const out=["event_id,user_id,event_type,ts,amount,country,device_os,device_version,message"];
for(const l of fs.readFileSync(path.join(src,f),"utf8").split("\n")){if(!l)continue;const e=JSON.parse(l);
out.push([e.event_id,e.user_id,e.event_type,e.ts,e.amount,e.country,e.device?.os,e.device?.version,e.message].map(q).join(","));}
fs.writeFileSync(path.join(dst,f.replace(/\.jsonl$/,".csv")),out.join("\n")+"\n");}' "$W/src" "$W/csv/in"
printf '%-6s %10s %10s %8s %10s %10s\n' format input_MB file_MB seconds MB/s rows/s
for v in json gz zst bz2 csv text; do
  sed -i 's/\\n/\n/' "$W/$v/c.yml"
  in_mb=$(cat "$W"/src/*.jsonl | wc -c); [ "$v" = csv ] && in_mb=$(cat "$W"/csv/in/* | wc -c)
  file_mb=$(cat "$W/$v"/in/* | wc -c)
  t0=$(date +%s.%N)
  "$B/lakesupd" start -c "$W/$v/c.yml" --trigger available-now >"$W/$v/log" 2>&1
  t1=$(date +%s.%N)
  rows=$((FILES * ROWS))
  awk -v a="$t0" -v b="$t1" -v i="$in_mb" -v f="$file_mb" -v r="$rows" -v n="$v" \
    'BEGIN { s = b - a; printf "%-6s %10.1f %10.1f %8.2f %10.1f %10.0f\n", n, i/1e6, f/1e6, s, i/1e6/s, r/s }'
done
rm -rf "$W"
