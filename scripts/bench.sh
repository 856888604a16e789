#!/usr/bin/env bash
# Sets up, then runs the benchmark in headless Chromium against a local tracker.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
scripts/isolated.sh bash -c "node bench/run.mjs && node bench/files.mjs && node bench/relays.mjs"
