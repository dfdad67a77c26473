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

# The image test (tests/overlay) boots the real s6-overlay v3 /init. It takes
# the release tarballs from S6_OVERLAY_DIST when set; otherwise build.sh
# (shared/s6-overlay, next to the repository) builds the stack s6-overlay
# 3.2.0.2 pins, offline, into S6OV_CACHE: about 3 minutes once, then cached.
if [ -z "${S6_OVERLAY_DIST:-}" ]; then
  build=${S6OV_BUILD:-}
  if [ -z "$build" ]; then
    # shared/ sits beside the repository (../shared); a clone elsewhere
    # finds the workplace's copy.
    d=$(pwd)
    while [ "$d" != / ]; do
      if [ -f "$d/shared/s6-overlay/build.sh" ]; then build=$d/shared/s6-overlay/build.sh; break; fi
      d=$(dirname "$d")
    done
    if [ -z "$build" ] && [ -f /work/shared/s6-overlay/build.sh ]; then build=/work/shared/s6-overlay/build.sh; fi
  fi
  if [ -z "$build" ]; then
    echo "tests/run.sh: no s6-overlay for the image test: set S6_OVERLAY_DIST=<dir with s6-overlay-noarch.tar.xz and s6-overlay-x86_64.tar.xz of 3.2.0.2> (and S6_OVERLAY_ROOTFS=<debian:12-slim root dir>), or S6OV_BUILD=<path of shared/s6-overlay/build.sh>" >&2
    exit 2
  fi
  if ! command -v gcc >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      echo "tests/run.sh: building s6-overlay needs gcc and make; as root: apt-get install -y build-essential xz-utils" >&2
      exit 2
    fi
    echo "== installing build-essential xz-utils"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq build-essential xz-utils >/dev/null
  fi
  export S6OV_CACHE=${S6OV_CACHE:-/tmp/hermes-s6ov-cache}
  export S6OV_BUILD=$build
  echo "== s6-overlay 3.2.0.2 into $S6OV_CACHE (first time: about 3 minutes)"
  bash "$build"
fi
# Opt in to the image test and to the long campaigns.
export HERMES_TEST_OVERLAY=1 HERMES_TEST_LONG=1

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
