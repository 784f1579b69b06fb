#!/usr/bin/env bash
# Runs every test of vecsfs: installs what is missing, then unit and integration tests, which
# drive the real binaries with keys and certificates made by openssl at test time.
# Run it as root: some tests act as a second local user (runuser -u nobody).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
cargo test --locked --all-targets 2>&1
