#!/usr/bin/env bash
# Install what is needed, then run the whole test suite. Extra arguments go
# to pytest (e.g. -k realtime). Tests needing PostgreSQL, Redis or Chromium
# skip with a reason when those are missing, unless SYNTHESE_TEST_REQUIRE
# lists them (CI sets it: .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
exec .venv/bin/python -m pytest "$@"
