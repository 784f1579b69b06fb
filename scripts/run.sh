#!/usr/bin/env bash
# Sets vecsfs up and shows it: installs what is missing, builds the release binaries, creates the
# certificate database at its default place (or $VECS_DB) if it does not exist, mounts it at
# /etc/vecs (or the directory given as the first argument) and shows the tree.
# The mount stays up; `umount /etc/vecs` (or the directory given) stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
cargo build --release --locked
bin="${CARGO_TARGET_DIR:-target}/release"
db="${VECS_DB:-/var/lib/vecs/vecs.db}"
mountpoint="${1:-/etc/vecs}"
log="${VECSFS_LOG:-/var/log/vecsfs.log}"

"$bin/vecs-cli" store list --db "$db" >/dev/null   # creates the database if it is missing
mkdir -p "$mountpoint"
if ! grep -q " $(realpath "$mountpoint") fuse.vecs " /proc/self/mounts; then
    # Supervised: if the daemon dies, the mount comes back by itself.
    nohup "$bin/vecsfs" --db "$db" --supervise "$mountpoint" >>"$log" 2>&1 &
    for _ in $(seq 100); do
        grep -q " $(realpath "$mountpoint") fuse.vecs " /proc/self/mounts && break
        kill -0 $! 2>/dev/null || { echo "vecsfs failed to start; see $log:" >&2; tail -5 "$log" >&2; exit 1; }
        sleep 0.1
    done
fi
grep -q " $(realpath "$mountpoint") fuse.vecs " /proc/self/mounts || { echo "mount did not come up; see $log" >&2; exit 1; }
echo "== $db mounted at $mountpoint (log: $log; stop with: umount $mountpoint)"
"$bin/vecsfs" status "$mountpoint" || true
ls -l "$mountpoint"
echo "== stores, aliases and files"
find "$mountpoint" -mindepth 1 -maxdepth 3 | sort
