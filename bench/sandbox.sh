#!/usr/bin/env bash
# Root-session start-up (issue 11): `strata run --root S -- true` beside
# `bwrap … true` on the same tree and `node -e 0` (the floor: one node start-up),
# in one hyperfine run, as the unprivileged user; medians and ratios printed.
# Usage: bash bench/sandbox.sh WORKDIR [RUNS]   (WORKDIR: a fresh directory)
# With OLD=DIR, a built checkout of an earlier strata (e.g. dcf8a33, before
# strata-ns) runs `run --root` in the same hyperfine run, on its own store of
# the same tree: "costs no more than before" measured side by side.
set -euo pipefail
work=${1:?usage: bench/sandbox.sh WORKDIR [RUNS]}
runs=${2:-40}
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
export STRATA_HOME=$work/home NO_COLOR=1
root=$work/rootfs
[ -d "$root" ] || node -e "import('$repo/test/fixtures/rootfs.js').then((m) => m.makeRootfs('$root'))"
strata() { node "$repo/bin/run.js" "$@"; }
strata stack inspect bench >/dev/null 2>&1 || { strata import "$root" --name bench-base >/dev/null && strata stack create bench bench-base >/dev/null; }
strata run --root bench -- true # the stack's composed tree is built once, outside the timing
old=()
if [ -n "${OLD:-}" ]; then
  STRATA_HOME=$work/old-home node "$OLD/bin/run.js" stack inspect bench >/dev/null 2>&1 || { STRATA_HOME=$work/old-home node "$OLD/bin/run.js" import "$root" --name bench-base >/dev/null && STRATA_HOME=$work/old-home node "$OLD/bin/run.js" stack create bench bench-base >/dev/null; }
  STRATA_HOME=$work/old-home node "$OLD/bin/run.js" run --root bench -- true
  old=(-n 'run --root (before)' "env STRATA_HOME=$work/old-home node $OLD/bin/run.js run --root bench -- true" -n 'run (before)' "env STRATA_HOME=$work/old-home node $OLD/bin/run.js run bench -- true")
fi
# bubblewrap as a sandbox of about the same shape: every namespace, a new session, dies with its
# parent, the tree as root, its own /proc, /dev and /tmp (Debian's bwrap is not setuid: rootless as us)
bwrap=(bwrap --unshare-all --die-with-parent --new-session --bind "$root" / --proc /proc --dev /dev --tmpfs /tmp -- /bin/true)
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/sandbox.json" \
  -n 'node -e 0' 'node -e 0' \
  -n 'bwrap true' "${bwrap[*]}" \
  -n 'run --root' "node $repo/bin/run.js run --root bench -- true" \
  -n 'run' "node $repo/bin/run.js run bench -- true" "${old[@]}" >/dev/null
node -e '
const r = require(process.argv[1]).results
const m = Object.fromEntries(r.map((x) => [x.command, x.median * 1000]))
for (const x of r) console.log(`${x.command.padEnd(12)} median ${(x.median * 1000).toFixed(1)} ms  (min ${(x.min * 1000).toFixed(1)}, max ${(x.max * 1000).toFixed(1)}, ${x.times.length} runs)`)
console.log(`run --root / node -e 0: ${(m["run --root"] / m["node -e 0"]).toFixed(2)}x   run / node -e 0: ${(m["run"] / m["node -e 0"]).toFixed(2)}x   run --root / bwrap: ${(m["run --root"] / m["bwrap true"]).toFixed(2)}x   run --root / run: ${(m["run --root"] / m["run"]).toFixed(2)}x`)
if (m["run --root (before)"]) console.log(`run --root / run --root (before): ${(m["run --root"] / m["run --root (before)"]).toFixed(2)}x   run / run (before): ${(m["run"] / m["run (before)"]).toFixed(2)}x`)
' "$work/sandbox.json"
