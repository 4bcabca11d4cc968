#!/usr/bin/env bash
# Copies the browser suite's screenshots (target/screenshots/, written by
# end2end/tests/screenshots.spec.ts on every run) to docs/screenshots/ for the README.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d target/screenshots ]; then
  echo "No screenshots yet: run ./scripts/test.sh (or the browser suite) first." >&2
  exit 1
fi
mkdir -p docs/screenshots
cp target/screenshots/*.png docs/screenshots/
ls -l docs/screenshots
