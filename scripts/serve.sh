#!/usr/bin/env bash
# Install what is needed, then start Synthèse on http://127.0.0.1:5000 with
# an SQLite database in instance/ and a demo event. Extra arguments go to
# `synthese serve` (e.g. --port 8000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/synthese serve "$@"
