#!/usr/bin/env bash
# strata's main job on its built-in example: import a tree as a layer, stack
# it, run a command in it rootless, and show what the command wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
export STRATA_HOME=${STRATA_HOME:-$(mktemp -d /tmp/strata-demo-XXXXXX)/store}
strata() { node bin/run.js "$@"; }
say() { if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then printf '\n\033[1m$ %s\033[0m\n' "$*"; else printf '\n$ %s\n' "$*"; fi; }

[ -f dist/src/services/inner.js ] || npm run build
echo "store: $STRATA_HOME"
say strata import examples/hello --name hello
strata import examples/hello --name hello
say strata stack create demo hello
strata stack create demo hello
say strata run demo -- sh -c '…'
strata run demo -- sh -c 'echo "inside the stack as $(id -un) (uid $(id -u)):"; ls -l; head -1 greeting.txt; date > written-inside.txt; echo "wrote written-inside.txt"'
say "strata stack inspect demo --json   # where the upper is"
upper=$(strata stack inspect demo --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).paths.upper))')
echo "$upper"
say ls -l "$upper"
ls -l "$upper"
say cat "$upper/written-inside.txt"
cat "$upper/written-inside.txt"
say strata run demo -- cat written-inside.txt
strata run demo -- cat written-inside.txt
