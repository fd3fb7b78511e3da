#!/usr/bin/env bash
# Tar import against directory import, and memory of tar imports by size.
# Run by hand as an unprivileged user with a subuid range:
#   bash bench/tar-import.sh [WORKDIR] [ROUNDS]
# 1. a ≥150 MB tree copied from /usr/share and /usr/lib, imported as a
#    directory and as a tar of it, alternating (A/B/A/B), each into a fresh
#    store; each round's ratio tar/dir, and the median of those ratios (the
#    machine may be shared: a round's two imports see the same load).
# 2. peak RSS (of the namespace's importing process, via GNU time, which
#    reports the largest waited-for descendant) importing a 100 MB and a 1 GB
#    tar of random data, alternating; medians and their ratio.
set -euo pipefail
W=${1:-/tmp/strata-bench-tar}
ROUNDS=${2:-5}
STRATA="node $(cd "$(dirname "$0")/.." && pwd)/bin/run.js"
mkdir -p "$W"
ns() { unshare --user --map-root-user --map-auto --mount -- "$@"; }

if [ ! -d "$W/tree" ]; then
  mkdir -p "$W/tree"
  cp -a /usr/share/perl /usr/share/doc /usr/share/locale /usr/share/i18n /usr/lib/python3* /usr/lib/x86_64-linux-gnu/perl* "$W/tree/" 2>/dev/null || true
  cp -a /usr/share/vim /usr/share/zoneinfo /usr/share/man "$W/tree/" 2>/dev/null || true
fi
[ -f "$W/tree.tar" ] || tar --format=pax -C "$W/tree" -cf "$W/tree.tar" .
if [ ! -f "$W/big.tar" ]; then
  mkdir -p "$W/big" "$W/small"
  for i in $(seq 1 10); do head -c 100M /dev/urandom > "$W/big/f$i"; done
  head -c 100M /dev/urandom > "$W/small/f1"
  tar -C "$W/big" -cf "$W/big.tar" . && tar -C "$W/small" -cf "$W/small.tar" .
  rm -rf "$W/big" "$W/small"
fi
echo "tree: $(du -sb --apparent-size "$W/tree" | cut -f1) bytes, $(find "$W/tree" | wc -l) entries; tar: $(stat -c %s "$W/tree.tar") bytes"
echo "big.tar: $(stat -c %s "$W/big.tar") bytes; small.tar: $(stat -c %s "$W/small.tar") bytes"

# every import goes into a fresh store here, removed only at the end: no
# deletions between timed runs (see quiet() in lib.js)
RUNS="$W/runs-$(date +%s)"
mkdir -p "$RUNS"
# one import into a fresh store named $1 (callers pipe it: a subshell, so no counters): prints "seconds maxrss_kib"
once() {
  STRATA_HOME="$RUNS/$1" /usr/bin/time -f '%e %M' $STRATA import "$2" 2>&1 >/dev/null | tail -1
}
quiet() { node --input-type=module -e "const {quiet} = await import('$(cd "$(dirname "$0")" && pwd)/lib.js'); console.log(quiet(process.argv[1], {timeoutS: Number(process.argv[2])}).toFixed(0))" "$RUNS" "$1"; }
echo "file creation before timing: $(quiet 600) ms per 1000"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

: > "$W/dir.t"; : > "$W/tar.t"; : > "$W/ratio.t"; : > "$W/small.m"; : > "$W/big.m"
for r in $(seq 1 "$ROUNDS"); do
  # which goes first alternates: each round's pair sees the same conditions, in turn
  if [ $((r % 2)) = 1 ]; then
    once "dir-$r" "$W/tree" | awk '{print $1}' >> "$W/dir.t"
    once "tar-$r" "$W/tree.tar" | awk '{print $1}' >> "$W/tar.t"
  else
    once "tar-$r" "$W/tree.tar" | awk '{print $1}' >> "$W/tar.t"
    once "dir-$r" "$W/tree" | awk '{print $1}' >> "$W/dir.t"
  fi
  once "small-$r" "$W/small.tar" | awk '{print $2}' >> "$W/small.m"
  once "big-$r" "$W/big.tar" | awk '{print $2}' >> "$W/big.m"
  awk "BEGIN {printf \"%.3f\\n\", $(tail -1 "$W/tar.t")/$(tail -1 "$W/dir.t")}" >> "$W/ratio.t"
  echo "round $r: dir $(tail -1 "$W/dir.t")s tar $(tail -1 "$W/tar.t")s ratio $(tail -1 "$W/ratio.t"); rss 100MB $(tail -1 "$W/small.m")KiB 1GB $(tail -1 "$W/big.m")KiB"
done
d=$(median < "$W/dir.t"); t=$(median < "$W/tar.t"); s=$(median < "$W/small.m"); b=$(median < "$W/big.m")
echo "median: dir import ${d}s, tar import ${t}s; median of the rounds' ratios $(median < "$W/ratio.t") (target <= 1.2)"
echo "median peak RSS: 100 MB tar ${s} KiB, 1 GB tar ${b} KiB, ratio $(awk "BEGIN {printf \"%.2f\", $b/$s}") (targets: <= 150 MB, <= 1.2)"
echo "file creation after timing: $(quiet 0) ms per 1000"
ns rm -rf "$RUNS"
