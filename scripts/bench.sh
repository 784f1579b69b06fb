#!/usr/bin/env bash
# The benchmark table (docs/BENCHMARKS.md): builds in release, makes its data, mounts vecsfs,
# the FUSE floor and tmpfs copies, measures every figure against its baselines in the same run,
# unmounts, and prints one table. Run as root (it mounts); about 5 minutes on 2 cores, most of
# it the release build. `scripts/bench.sh --quick` runs every row at a twentieth of its size.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
exec cargo bench --locked --bench table -- "$@"
