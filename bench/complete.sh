#!/usr/bin/env bash
# Benchmark: `strata __complete stack inspect ''` with 200 stacks against
# `node -e 0` (the floor of any node CLI), side by side: rounds of A/B with
# hyperfine, median of each, ratio per round; the result line is appended to
# bench/RESULTS.md. Target: ratio <= 1.5. Run as a user with a subordinate id
# range (the stacks are made with the real CLI), from the repo, after a build.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200} ROUNDS=${ROUNDS:-4} RUNS=${RUNS:-30}
work=${BENCH_WORK:-$PWD/bench/work/complete}
export STRATA_HOME=$work/home
if [ "$(ls "$STRATA_HOME/stacks" 2>/dev/null | wc -l)" -lt "$N" ]; then
  mkdir -p "$work/tree/etc"
  echo "a layer for the completion benchmark" > "$work/tree/etc/motd"
  node bin/run.js import "$work/tree" --name base >/dev/null
  echo "creating $N stacks with strata stack create..." >&2
  start=$(date +%s)
  for i in $(seq -w 1 "$N"); do [ -e "$STRATA_HOME/stacks/stack-$i" ] || node bin/run.js stack create "stack-$i" base >/dev/null; done
  echo "  took $(( $(date +%s) - start )) s" >&2
fi
have=$(node bin/run.js __complete stack inspect '' | grep -c $'\t')
[ "$have" -ge "$N" ] || { echo "expected $N candidates, got $have" >&2; exit 1; }

A="node -e 0"
B="node bin/run.js __complete stack inspect ''"
ratios=() as=() bs=()
for r in $(seq "$ROUNDS"); do
  hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/round-$r.json" "$A" "$B" >/dev/null 2>&1 || hyperfine --warmup 5 --runs "$RUNS" --export-json "$work/round-$r.json" "$A" "$B" >/dev/null
  read -r a b < <(node -e 'const r=require(process.argv[1]).results; console.log(r[0].median*1000, r[1].median*1000)' "$work/round-$r.json")
  as+=("$a") bs+=("$b")
  ratios+=("$(node -e 'console.log((process.argv[2]/process.argv[1]).toFixed(3))' "$a" "$b")")
  printf 'round %s: node -e 0 %.1f ms, __complete %.1f ms, ratio %s\n' "$r" "$a" "$b" "${ratios[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ma=$(median "${as[@]}") mb=$(median "${bs[@]}") mr=$(median "${ratios[@]}")
echo "median: node -e 0 $ma ms, __complete $mb ms, ratio $mr (target <= 1.5)"
{
  echo
  echo "## complete.sh — $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), node $(node -v), $(nproc) cpus"
  echo "\`strata __complete stack inspect ''\` with $N stacks vs \`node -e 0\`, $ROUNDS A/B rounds of $RUNS runs (hyperfine medians):"
  echo "per-round ratios ${ratios[*]}; median ratio **$mr** (target ≤ 1.5); medians $(printf '%.1f' "$ma") ms vs $(printf '%.1f' "$mb") ms."
} >> bench/RESULTS.md
