#!/usr/bin/env bash
# Installs the Node.js test tools of tests/node/package.json (exact versions from its package-lock.json) into
# $LOCKPROF_CACHE/node (default ~/.cache/lockprof/node); reinstalls only when the lock file changed.
# Prints the node_modules directory.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${LOCKPROF_CACHE:-$HOME/.cache/lockprof}/node
mkdir -p "$cache"
stamp=$(sha256sum tests/node/package-lock.json | cut -d' ' -f1)
if [ ! -d "$cache/node_modules" ] || [ "$(cat "$cache/.stamp" 2>/dev/null)" != "$stamp" ]; then
  cp tests/node/package.json tests/node/package-lock.json "$cache/"
  (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$stamp" > "$cache/.stamp"
fi
echo "$cache/node_modules"
