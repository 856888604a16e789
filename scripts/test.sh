#!/usr/bin/env bash
# Sets up, then runs every test: lint, native Rust tests, bounded fuzzing of every decoder,
# wasm-bindgen tests in headless Chromium, and browser end-to-end tests against relay servers
# started on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export CHROMEDRIVER=/usr/bin/chromedriver
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
wasm_tests=(cargo test --offline -p rendez-core --target wasm32-unknown-unknown --test web_peer --test web_key)

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --workspace --exclude rendez-cli --target wasm32-unknown-unknown -- -D warnings
cargo test --workspace --exclude rendez-sim
# The room simulations; --nocapture shows what the 200-peer room prints (messages per peer, time to full mesh).
cargo test -p rendez-sim -- --nocapture
cargo run --profile fuzz -p rendez-fuzz
npx tsc -p tests/types
"${wasm_tests[@]}" --no-run
# The native peer and the command line the e2e tests meet browsers with (tests/e2e/{native,cli}.test.mjs).
cargo build --offline -p rendez-native -p rendez-cli --bins --examples
# Each test file gets 3 minutes, except the streams' (a 2 GiB transfer alone takes about 3).
e2e=(node --test --test-concurrency=1)
quick=()
for file in tests/e2e/*.test.mjs; do
  [[ $file == */streams.test.mjs ]] || quick+=("$file")
done
scripts/isolated.sh bash -c "${wasm_tests[*]} && ${e2e[*]} --test-timeout=180000 $(printf '%q ' "${quick[@]}") && ${e2e[*]} --test-timeout=900000 tests/e2e/streams.test.mjs"
