#!/usr/bin/env bash
# Installs the end-to-end tests' npm dependencies (DuckDB's Node API) from
# the lock file; a no-op when they are already there.
set -euo pipefail
cd "$(dirname "$0")"
if [ -d node_modules/@duckdb/node-api ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  echo "install-deps: npm packages present"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
