#!/usr/bin/env bash
# strata's test command (`npm test`). As root (CI, a fresh machine) it
# provisions first, then runs the suite as the unprivileged test user; as
# any other user it builds and runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
TEST_USER=${STRATA_TEST_USER:-strata-test}

if [ "$(id -u)" = 0 ]; then
  bash scripts/provision.sh
  [ -d node_modules ] || npm ci --no-audit --no-fund
  npm run build
  # the checkout may sit where the test user can't reach (/root): give it a copy,
  # one per checkout, so that two checkouts can be tested at once
  home=$(getent passwd "$TEST_USER" | cut -d: -f6)
  dest="$home/strata-$(pwd -P | sha256sum | cut -c1-12)"
  rm -rf "$dest"
  cp -a . "$dest"
  chown -R "$TEST_USER:" "$dest"
  # a machine whose registry is reached through its own certificate authority names it here: pass it on
  ca=()
  for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE; do [ -n "${!v:-}" ] && ca+=("$v=${!v}"); done
  exec runuser -u "$TEST_USER" -- env -i PATH="$PATH" HOME="$home" CI="${CI:-}" LANG=C.UTF-8 "${ca[@]}" \
    STRATA_TEST_SKIP_BUILD=1 bash "$dest/scripts/test.sh" "$@"
fi

if [ -z "${STRATA_TEST_SKIP_BUILD:-}" ]; then
  [ -d node_modules ] || npm ci --no-audit --no-fund
  npm run build
fi
if [ $# -eq 0 ]; then set -- test/*.test.js; fi
exec node --test --test-concurrency=2 --test-timeout=900000 "$@"
