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

echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 -timeout 20m ./...
