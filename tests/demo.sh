#!/usr/bin/env bash
# The demo: a narrated walkthrough of the main job, in a simulated container.
#
# Builds the supervisor and the stand-in gateway, boots a container (a PID
# namespace whose PID 1 is `supervisor init`, with a tmpfs scandir and a
# home directory standing in for the volume), creates profiles, starts and
# stops gateways, restarts the container the way `docker restart` does, and
# prints the boot decisions and the status table. Everything it starts is
# killed and everything it writes removed on exit, even on failure.
#
# Run it as root on a Debian machine with Go: it installs s6 and execline
# itself when they are missing (apt-get install -y s6 execline), as
# tests/run.sh does. Headings are bold only on a terminal, and never when
# NO_COLOR is set (https://no-color.org).
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s.%N)
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  bold=$'\033[1m' plain=$'\033[0m'
else
  bold="" plain=""
fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
note() { printf '   %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "go not found: install Go 1.26 (https://go.dev/dl) and put it on PATH"
need_apt=()
for bin in s6-svscan:s6 execlineb:execline; do
  command -v "${bin%%:*}" >/dev/null 2>&1 || need_apt+=("${bin##*:}")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need_apt[*]}; install them as root: apt-get install -y ${need_apt[*]}"
  note "installing ${need_apt[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/hermes-demo.XXXXXX)
chmod 755 "$work"
bin=$work/bin home=$work/volume scandir=$work/run/service config=$work/hermes.toml
mkdir -p "$bin" "$home" "$scandir"
outer=""   # the process we started: unshare, or init itself without namespaces
pid1=""    # the container's PID 1, as seen from here

cleanup() {
  set +e
  [ -n "$pid1" ] && kill -KILL "$pid1" 2>/dev/null
  [ -n "$outer" ] && { kill -KILL "$outer" 2>/dev/null; wait "$outer" 2>/dev/null; }
  if [ "${namespaces:-1}" = 0 ]; then
    # without a PID namespace, s6's children outlive init: find them by marker
    for p in /proc/[0-9]*; do
      grep -qz "^HERMES_DEMO=$work\$" "$p/environ" 2>/dev/null && kill -KILL "${p#/proc/}" 2>/dev/null
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Building the supervisor and the stand-in gateway"
go build -o "$bin/supervisor" ./cmd/supervisor
go build -o "$bin/standin-gateway" ./cmd/standin-gateway
note "$bin/supervisor, $bin/standin-gateway"

user=""
if [ "$(id -u)" = 0 ] && getent passwd hermes >/dev/null; then
  user=hermes
  chown hermes: "$home"
fi
cat >"$config" <<EOF
home = "$home"
scandir = "$scandir"

[gateway]
command = ["$bin/standin-gateway", "--"]   # the profile arguments follow "--"
user = "$user"
stop_grace = "2s"
ready_after = "300ms"

[policy]
module = ""        # the embedded default policy
EOF
say "Configuration ($config)"
sed 's/^/   /' "$config"

export PATH="$bin:$PATH" HERMES_CONFIG="$config" HERMES_HOME="$home" S6_PROFILE_GATEWAY_SCANDIR="$scandir" HERMES_DEMO="$work"

namespaces=1
if ! unshare --pid --fork --mount-proc --mount --propagation private true 2>/dev/null; then
  namespaces=0
  note "namespaces are refused here: the container is a plain child process (no PID namespace, no tmpfs)"
fi

boot_container() {
  if [ "$namespaces" = 1 ]; then
    unshare --pid --fork --kill-child=SIGKILL --mount-proc --mount --propagation private \
      sh -c 'mount -t tmpfs -o mode=0755 tmpfs "$0" && exec "$@"' "$scandir" supervisor init \
      >>"$work/console.log" 2>&1 &
    outer=$!
    pid1=""
    for _ in $(seq 200); do
      pid1=$(cat "/proc/$outer/task/$outer/children" 2>/dev/null | awk '{print $1}')
      [ -n "$pid1" ] && break
      sleep 0.05
    done
    [ -n "$pid1" ] || die "the container's PID 1 never appeared; console: $(cat "$work/console.log")"
  else
    rm -rf "$scandir" && mkdir -p "$scandir"
    supervisor init >>"$work/console.log" 2>&1 &
    outer=$! pid1=$!
  fi
}

# inside runs a command inside the container, like `docker exec`.
inside() {
  if [ "$namespaces" = 1 ]; then nsenter --target "$pid1" --pid --mount -- "$@"; else "$@"; fi
}

# wait_boot waits until the boot log has a line for every profile named,
# written since byte offset $1.
wait_boot() {
  local from=$1; shift
  for _ in $(seq 300); do
    local ok=1
    for p in "$@"; do
      tail -c +"$((from + 1))" "$home/logs/container-boot.log" 2>/dev/null | grep -q "profile=$p " || ok=0
    done
    [ "$ok" = 1 ] && inside test -p "$scandir/.s6-svscan/control" && return 0
    sleep 0.1
  done
  die "the boot log never mentioned every one of: $*; console: $(tail -20 "$work/console.log")"
}

wait_svstat() { # profile want(true|false)
  for _ in $(seq 200); do
    [ "$(inside s6-svstat -o up "$scandir/gateway-$1" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.1
  done
  die "gateway-$1 never reached up=$2: $(inside s6-svstat "$scandir/gateway-$1" 2>&1)"
}

# alive: the process exists and is not a zombie.
alive() { [ -r "/proc/$1/stat" ] && ! awk '{ exit ($3 == "Z") ? 0 : 1 }' "/proc/$1/stat" 2>/dev/null; }

bootlog_size() { stat -c %s "$home/logs/container-boot.log" 2>/dev/null || echo 0; }

say "Booting the container: PID 1 is \`supervisor init\` (boot, then s6-svscan on a fresh tmpfs $scandir)"
from=$(bootlog_size)
boot_container
wait_boot "$from" default
note "PID 1 is $pid1 from the outside; the volume is $home"

say "Creating profiles alpha, beta and gamma"
for p in alpha beta gamma; do inside supervisor profile create "$p" | sed "s/^/   /"; done
inside supervisor profile list | sed 's/^/   /'

say "Starting the gateways of alpha and beta (gamma stays as created: down)"
inside supervisor -p alpha gateway start
inside supervisor -p beta gateway start
wait_svstat alpha true
wait_svstat beta true
note "s6 reports both up"

say "An operator stops beta: a planned-stop marker first, then s6-svc -d; beta records 'stopped'"
inside supervisor -p beta gateway stop
wait_svstat beta false

say "Status before the restart"
inside supervisor gateway status --all | sed 's/^/   /'

say "docker restart: SIGTERM to PID 1; s6 brings every gateway down; alpha's plain SIGTERM records 'running'"
kill -TERM "$pid1"
for _ in $(seq 100); do alive "$pid1" || break; sleep 0.1; done
if alive "$pid1"; then
  note "PID 1 still up after 10 s: SIGKILL, as Docker would"
  kill -KILL "$pid1"
fi
wait "$outer" 2>/dev/null || true
note "the container is down; the tmpfs scandir went with it, the volume stayed"

from=$(bootlog_size)
say "Booting again: the boot step rebuilds a slot per profile and asks the policy what comes back"
boot_container
wait_boot "$from" default alpha beta gamma
wait_svstat alpha true

say "The boot decisions ($home/logs/container-boot.log, this boot)"
tail -c +"$((from + 1))" "$home/logs/container-boot.log" | sed 's/^/   /'

say "Status after the restart: alpha came back by itself, beta and gamma stayed down"
inside supervisor gateway status --all | sed 's/^/   /'

say "Done in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s; cleaning up"
