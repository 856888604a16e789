#!/usr/bin/env bash
# Installs what building and testing need, builds the package, and installs the packed package
# into a fresh Vite app for the packaging tests. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

rustup target add wasm32-unknown-unknown
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $want" ]; then
  cargo install wasm-bindgen-cli --version "$want"
fi
# Debian packages: the browser and its driver for the browser tests, coturn as the tests' TURN server.
missing=()
for package_and_binary in chromium:/usr/bin/chromium chromium-driver:/usr/bin/chromedriver coturn:/usr/bin/turnserver; do
  [ -x "${package_and_binary#*:}" ] || missing+=("${package_and_binary%%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update
  as_root apt-get install -y "${missing[@]}"
fi
npm ci
cargo fetch
npm run build
bash scripts/prepare-consumer.sh
