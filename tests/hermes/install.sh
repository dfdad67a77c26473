#!/usr/bin/env bash
# Installs the pinned hermes-agent (the real gateway and upstream's boot
# reconciler) into a Python virtual environment, for the tests that run
# them. Idempotent: a venv that already holds the pinned version is left
# as it is. Prints what it does.
#
#   tests/hermes/install.sh [VENV]     VENV default: $HERMES_AGENT_VENV, else /opt/hermes-agent-venv
#
# Needs Python 3.11 to 3.13 (hermes-agent's Requires-Python) with the venv
# module, that every user may run (the gateway runs as the gateway user),
# and PyPI. As root on Debian it installs python3 and python3-venv when they
# are missing.
set -euo pipefail

HERMES_AGENT_VERSION=0.19.0
venv="${1:-${HERMES_AGENT_VENV:-/opt/hermes-agent-venv}}"
say() { echo "tests/hermes/install.sh: $*"; }

installed_version() {
  "$venv/bin/python" - <<'EOF' 2>/dev/null
from importlib.metadata import version
print(version("hermes-agent"))
EOF
}


# A Python that hermes-agent accepts, and that every user can run: the
# gateway runs as the unprivileged gateway user, and a venv's interpreter
# is its base interpreter (one under /root, as pyenv's, is out of its
# reach). The system's own directories come first.
world_runs() { # every directory above the real file is searchable by others, the file executable
  local p
  p=$(readlink -f "$1") || return 1
  [ -n "$p" ] && [ "$(stat -c %A "$p" | cut -c10)" = x ] || return 1
  while p=$(dirname "$p") && [ "$p" != / ]; do
    [ "$(stat -c %A "$p" | cut -c10)" = x ] || [ "$(stat -c %A "$p" | cut -c10)" = t ] || return 1
  done
}
if [ -x "$venv/bin/python" ]; then
  if ! world_runs "$venv/bin/python"; then
    say "$venv/bin/python is $(readlink -f "$venv/bin/python"), which other users (the gateway user) cannot run; remove $venv and run this again" >&2
    exit 2
  fi
  if [ "$(installed_version)" = "$HERMES_AGENT_VERSION" ]; then
    say "hermes-agent $HERMES_AGENT_VERSION already in $venv"
    exit 0
  fi
fi

py=""
for dir in /usr/local/bin /usr/bin ""; do
  for cand in python3.13 python3.12 python3.11 python3; do
    c="$cand"
    [ -n "$dir" ] && c="$dir/$cand"
    if command -v "$c" >/dev/null 2>&1 && world_runs "$(command -v "$c")" &&
      "$c" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else 1)' 2>/dev/null; then
      py=$(command -v "$c")
      break 2
    fi
  done
done
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "missing $*; install it (as root on Debian: apt-get install -y $*)" >&2
    exit 2
  fi
  say "apt-get install -y $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}
if [ -z "$py" ]; then
  apt_install python3 python3-venv
  py=$(command -v python3)
  "$py" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else 1)' || {
    say "$py is $("$py" -V 2>&1); hermes-agent $HERMES_AGENT_VERSION needs Python 3.11 to 3.13" >&2
    exit 2
  }
fi
# Debian splits ensurepip (python3-venv) from python3.
if ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  apt_install python3-venv
fi

if [ ! -x "$venv/bin/python" ]; then
  say "creating venv $venv with $py ($("$py" -V 2>&1))"
  "$py" -m venv "$venv"
fi
say "pip install hermes-agent==$HERMES_AGENT_VERSION into $venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet "hermes-agent==$HERMES_AGENT_VERSION"

got=$(installed_version || true)
if [ "$got" != "$HERMES_AGENT_VERSION" ]; then
  say "after install, $venv holds hermes-agent '${got:-none}', want $HERMES_AGENT_VERSION" >&2
  exit 1
fi
"$venv/bin/python" -c 'import hermes_cli.container_boot, gateway.status' || {
  say "hermes-agent $HERMES_AGENT_VERSION is installed but its modules do not import" >&2
  exit 1
}
say "hermes-agent $got installed in $venv ($venv/bin/hermes)"
