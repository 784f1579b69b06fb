#!/usr/bin/env bash
# Hot open+read+close of one cert.pem through the mount against the same file on tmpfs, in one
# run (median of 5 passes of 20,000 each, Python's open/read). Prints microseconds per read and
# the ratio. Release build; mounts a private database in a temp dir and unmounts it after.
# The full benchmark table is issue 7's scripts/bench.sh; this is the figure behind keep_cache.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bins >/dev/null 2>&1
bin="${CARGO_TARGET_DIR:-target}/release"
work=$(mktemp -d)
trap 'umount "$work/mnt" 2>/dev/null || true; rm -rf "$work" /dev/shm/vecsfs-bench-$$.pem' EXIT
mkdir "$work/mnt"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k.pem" \
    -out "$work/c.pem" -subj /CN=bench -days 2 2>/dev/null
"$bin/vecs-cli" entry create --db "$work/v.db" --store TRUSTED_ROOTS --alias r1 \
    --cert "$work/c.pem" >/dev/null
VECSFS_RUN_DIR="$work/run" "$bin/vecsfs" --db "$work/v.db" "$work/mnt" 2>"$work/log" &
for _ in $(seq 100); do [[ -e $work/mnt/TRUSTED_ROOTS/r1/cert.pem ]] && break; sleep 0.1; done
cp "$work/c.pem" /dev/shm/vecsfs-bench-$$.pem
python3 - "$work/mnt/TRUSTED_ROOTS/r1/cert.pem" /dev/shm/vecsfs-bench-$$.pem <<'PY'
import statistics, sys, time
def per_read(path, n=20000):
    start = time.perf_counter()
    for _ in range(n):
        with open(path, 'rb') as f:
            f.read()
    return (time.perf_counter() - start) / n * 1e6
mount = statistics.median(per_read(sys.argv[1]) for _ in range(5))
tmpfs = statistics.median(per_read(sys.argv[2]) for _ in range(5))
print(f"hot open+read+close of cert.pem: mount {mount:.1f} us, tmpfs {tmpfs:.1f} us, ratio {mount / tmpfs:.1f}x")
PY
