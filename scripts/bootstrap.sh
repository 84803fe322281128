#!/usr/bin/env bash
# Install what Synthèse needs (.venv, node_modules) and build the front-end
# bundle. Quick when nothing changed; safe to run again.
# Usage: scripts/bootstrap.sh [python-extras]   e.g. scripts/bootstrap.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-}

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "Synthèse needs Python >= 3.11 ($python is older)" >&2; exit 1; }
  "$python" -m venv .venv
fi
spec=".${extras:+[$extras]}"
stamp=".venv/.stamp-$(cat pyproject.toml | sha256sum | cut -c1-16)${extras:+-$extras}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e "$spec"
  touch "$stamp"
fi

command -v npm >/dev/null || { echo "Synthèse needs Node >= 20 and npm to build its front end" >&2; exit 1; }
nstamp="node_modules/.stamp-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$nstamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch "$nstamp"
fi
# The bundles get content-hashed names (build/assets.json, esbuild's metafile, maps them) and
# gzipped copies, which the app serves with long-lived cache headers.
if [ ! -f build/assets.json ] \
   || [ -n "$(find static/src static/style.css package-lock.json package.json -newer build/assets.json | head -1)" ]; then
  npm run --silent build
  .venv/bin/python -m whitenoise.compress --no-brotli static/dist >/dev/null
fi
