#!/usr/bin/env bash
# The test command (README, CI): installs what is missing, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/install-deps.sh
npx tsc --noEmit
npx vitest run "$@"
