#!/usr/bin/env bash
# Packs rendez with `npm pack` and installs the tarball into a fresh Vite app (from
# tests/vite-consumer) under target/consumer, for the packaging tests.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf target/consumer
mkdir -p target/consumer
tarball=$(npm pack --silent --pack-destination target)
cp -r tests/vite-consumer/. target/consumer/
cd target/consumer
npm install --no-audit --no-fund --loglevel=error "../$tarball"
