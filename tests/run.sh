#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine
# (as root), then runs every test. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for bin in s6-svscan:s6 execlineb:execline wat2wasm:wabt; do
  command -v "${bin%%:*}" >/dev/null 2>&1 || need_apt+=("${bin##*:}")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "tests/run.sh: missing ${need_apt[*]}; install them as root: apt-get install -y ${need_apt[*]}" >&2
    exit 2
  fi
  echo "== installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The container image runs gateways as the unprivileged user hermes (uid 10000);
# the operator-path tests need the same user here.
if ! getent passwd hermes >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    groupadd -g 10000 hermes 2>/dev/null || true
    useradd -u 10000 -g 10000 -M -d /nonexistent -s /usr/sbin/nologin hermes
  else
    echo "tests/run.sh: no user hermes; as root: useradd -u 10000 hermes" >&2
    exit 2
  fi
fi

# The pinned AssemblyScript compiler (policies/package-lock.json) that the
# reproducible-build test rebuilds the committed policy modules with.
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "tests/run.sh: npm missing; install it as root: apt-get install -y nodejs npm" >&2
    exit 2
  fi
  echo "== installing nodejs npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
# node_modules/.installed-lock records the lock file it was installed from.
if ! cmp -s policies/package-lock.json policies/node_modules/.installed-lock 2>/dev/null; then
  echo "== npm ci --prefix policies"
  npm ci --prefix policies --no-audit --no-fund >/dev/null
  cp policies/package-lock.json policies/node_modules/.installed-lock
fi

# The pinned hermes-agent (the real gateway and upstream's boot reconciler),
# in a venv every user can run (the gateway runs as the hermes user): the
# real-gateway end-to-end test and the parity checks use it.
if [ "$(id -u)" = 0 ] || [ -n "${HERMES_AGENT_VENV:-}" ]; then
  bash tests/hermes/install.sh
else
  echo "tests/run.sh: not root: install hermes-agent yourself: tests/hermes/install.sh DIR, then HERMES_AGENT_VENV=DIR" >&2
fi

echo "== go vet"
go vet ./...
echo "== go test"
HERMES_TEST_LONG=1 go test -count=1 -timeout 25m ./...
