#!/usr/bin/env bash
# Sets up, then serves the example page against a WebTorrent tracker on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node scripts/serve-example.mjs "$@"
