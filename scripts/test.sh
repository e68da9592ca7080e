#!/usr/bin/env bash
# Every test of the project, on a fresh machine: installs what is missing
# (Debian's chromium and nginx, the npm packages), then runs
#   1. formatting and lints,
#   2. the Rust tests (unit, end-to-end against real servers, doc-tests),
#   3. the protocol vectors' own check,
#   4. the JS tests: client unit tests, the stock engine.io-client interop,
#      headless Chromium, nginx in front of the server, and three nodes behind
#      haproxy and nginx.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
# The cluster tests (issue 15): haproxy in front of three nodes, Redis between them.
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
# The HTTPS browser tests make a self-signed certificate with the openssl CLI.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! npm ls --silent >/dev/null 2>&1; then
  echo "== installing npm packages"
  npm ci --no-audit --no-fund
fi

echo "== cargo fmt, clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== Rust tests"
cargo test --workspace --quiet

echo "== protocol vectors"
node protocol-spec/vectors/check.mjs

echo "== JS tests (client units, engine.io-client interop, Chromium, nginx, cluster)"
cargo build --quiet --example echo
js_tests=()
for dir in client-js/test tests/support tests/interop tests/browser tests/proxy tests/sockjs tests/cluster; do
  [ -d "$dir" ] && while IFS= read -r file; do js_tests+=("$file"); done < <(find "$dir" -name '*.test.mjs' -o -name '*.test.js' | sort)
done
node --test --test-reporter=spec "${js_tests[@]}"
