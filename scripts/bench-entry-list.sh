#!/usr/bin/env bash
# Measures `vecs-cli entry list` on a store of 10,000 entries, against two baselines measured in
# the same run: `vecs-cli store list` (process start and database open) and `cat` of a file as
# large as the listing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
cargo build --release --locked --bin vecs-cli --example fill_store >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=bench \
    -keyout "$work/key.pem" -out "$work/cert.pem" -days 30 2>/dev/null
n=10000
db="$work/vecs.db"
start=$(date +%s.%N)
"${CARGO_TARGET_DIR:-target}/release/examples/fill_store" "$db" BENCH "$n" "$work/cert.pem"
end=$(date +%s.%N)
echo "filled $n entries in $(echo "$end - $start" | bc) s" >&2
vecs="${CARGO_TARGET_DIR:-target}/release/vecs-cli"
"$vecs" entry list --store BENCH --db "$db" >"$work/listing.txt"
runs=10
median_ms() { # command... ; prints the median wall time of $runs runs in ms
    local times=()
    for _ in $(seq $runs); do
        local s e
        s=$(date +%s%N)
        "$@" >/dev/null
        e=$(date +%s%N)
        times+=($(((e - s) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'
}
list=$(median_ms "$vecs" entry list --store BENCH --db "$db")
aliases=$(median_ms "$vecs" entry list --store BENCH --aliases --db "$db")
stores=$(median_ms "$vecs" store list --db "$db")
cat_ms=$(median_ms cat "$work/listing.txt")
printf '%-44s %10s %12s\n' "measure ($n entries, median of $runs)" "ms" "ratio"
printf '%-44s %10s %12s\n' "vecs-cli store list (baseline: start+open)" "$stores" "1.00"
printf '%-44s %10s %12s\n' "cat of the listing ($(du -h "$work/listing.txt" | cut -f1))" "$cat_ms" "$(echo "scale=2; $cat_ms / $stores" | bc)"
printf '%-44s %10s %12s\n' "vecs-cli entry list --aliases" "$aliases" "$(echo "scale=2; $aliases / $stores" | bc)"
printf '%-44s %10s %12s\n' "vecs-cli entry list" "$list" "$(echo "scale=2; $list / $stores" | bc)"
