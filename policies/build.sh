#!/usr/bin/env bash
# Builds the AssemblyScript policies reproducibly with the compiler pinned in
# package-lock.json (install it first: npm ci --prefix policies).
#
#   policies/build.sh           rebuild default.wasm and always.wasm in place
#   policies/build.sh OUTDIR    write them to OUTDIR instead (the reproducibility test)
#
# The flags make a module that imports nothing: the "stub" runtime (a bump
# allocator the SDK resets at every decision) and no abort function (a failed
# check traps, and the host falls back).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
asc="$here/node_modules/assemblyscript/bin/asc.js"
if [ ! -f "$asc" ]; then
  echo "policies/build.sh: AssemblyScript compiler missing; install it: npm ci --prefix policies" >&2
  exit 2
fi
out="${1:-}"
flags=(--runtime stub --use abort= -Oz --noAssert)
build() { # source.ts name.wasm dir
  local dest="$here/$3/$2"
  [ -n "$out" ] && dest="$out/$2"
  (cd "$here" && node "$asc" "$3/$1" -o "$dest" "${flags[@]}")
}
build default.ts default.wasm default
build always.ts always.wasm examples/always
