#!/usr/bin/env bash
# Sets vecsfs up and shows it: installs what is missing, builds the release binaries, creates the
# certificate database at its default place (or $VECS_DB) if it does not exist, and shows the
# stores and the trusted roots.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
cargo build --release --locked
vecs="${CARGO_TARGET_DIR:-target}/release/vecs-cli"
db="${VECS_DB:-/var/lib/vecs/vecs.db}"
echo "== database: $db"
echo "== vecs-cli store list"
"$vecs" store list --db "$db"
echo "== vecs-cli store get-permissions --name TRUSTED_ROOTS"
"$vecs" store get-permissions --name TRUSTED_ROOTS --db "$db"
echo "== vecs-cli entry list --store TRUSTED_ROOTS --aliases"
"$vecs" entry list --store TRUSTED_ROOTS --aliases --db "$db"
