#!/usr/bin/env python3
"""Run upstream's container-boot reconciler on a volume and say what it decided.

Our test driver, not upstream code: it imports hermes_cli.container_boot from
the installed hermes-agent and calls reconcile_profile_gateways on HOME. It
starts no gateway and, by default (dry mode), changes nothing.

    reconcile.py --home DIR [--apply --scandir DIR] [--argv JSON | --read-proc] [--bootstrap-state VALUE]

Output, one JSON object per line on stdout:

  {"kind": "profile", "profile": NAME, "profile_hex": HEX,
   "prior_state": VALUE,            # what the reconciler decided from, as Python returned it
                                    # (null = None; any JSON value: it is not always a string)
   "prior_state_log": TEXT,         # the same as the boot log writes it (str(value): None -> "None")
   "action": "started"|"registered",
   "prior_exit": LABEL,             # the ReconcileAction's own prior_exit; "n/a" when the installed
                                    # version has none (0.19.0 has no lifecycle ledger)
   "prior_exit_rule": LABEL}        # upstream main's rule (lifecycle_ledger.read_prior_exit_label),
                                    # re-implemented here: phase exited -> clean, running -> unclean,
                                    # anything else or any error -> unknown
  {"kind": "log", "line": TEXT}     # --apply: each line appended to logs/container-boot.log
  {"kind": "swept", "profile_dir": REL, "profile_dir_hex": HEX, "file": NAME}
                                    # --apply: a runtime file the reconciler removed
  {"kind": "slot", "name": NAME, "down": BOOL}          # --apply: slots in the scan directory
  {"kind": "bootstrap", "written": BOOL, "error": TEXT} # --bootstrap-state: what the seed did
  {"kind": "result", "ok": BOOL, "error_type": T, "error": TEXT, "version": V, "mode": M}

The last line is always the result. When the reconciler raises (the whole boot
fails upstream), no profile line is printed (upstream returns no list), ok is
false and error_type names the exception; in --apply mode the slot lines still
show what it published before raising.

--apply runs the real reconciliation (sweeps, slot rendering into --scandir,
boot log) on HOME itself: run it on a scratch copy. --bootstrap-state VALUE
first does what upstream's docker/stage2-hook.sh does with
HERMES_GATEWAY_BOOTSTRAP_STATE (it runs before the reconciler): when VALUE is
"running" and $HOME/gateway_state.json is not a regular file (shell `[ ! -f ]`,
which follows symlinks), write {"gateway_state":"running"} there. It needs
--apply. --argv is the container command the legacy-migration rule looks at
(default: [], as upstream's unit tests pin it); --read-proc lets upstream read
it from /proc, as it does in a container.
The multiplex setting comes from the environment (GATEWAY_MULTIPLEX_PROFILES)
as the installed version reads it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from importlib.metadata import version
from pathlib import Path

RUNTIME_FILES = ("gateway.pid", "processes.json")


def prior_exit_rule(profile_dir: Path) -> str:
    try:
        raw = (profile_dir / "state" / "gateway.lifecycle.json").read_text(encoding="utf-8-sig")
        data = json.loads(raw)
        phase = data.get("phase") if isinstance(data, dict) else None
        return {"exited": "clean", "running": "unclean"}.get(phase, "unknown")
    except Exception:
        return "unknown"


def emit(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=True, default=repr), flush=True)


def jsonable(v):
    try:
        json.dumps(v, allow_nan=False)
        return v
    except (TypeError, ValueError):
        return repr(v)


def candidate_dirs(home: Path) -> list[Path]:
    dirs = [home]
    try:
        if (home / "profiles").is_dir():
            dirs += sorted((home / "profiles").iterdir())
    except OSError:
        pass
    return dirs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--apply", action="store_true")
    ap.add_argument("--scandir", type=Path)
    ap.add_argument("--argv", default="[]")
    ap.add_argument("--read-proc", action="store_true")
    ap.add_argument("--bootstrap-state")
    a = ap.parse_args()
    if a.apply and a.scandir is None:
        ap.error("--apply needs --scandir")
    if a.bootstrap_state is not None and not a.apply:
        ap.error("--bootstrap-state writes the root state file: it needs --apply")
    argv = json.loads(a.argv)
    if not isinstance(argv, list):
        ap.error("--argv must be a JSON list")

    from hermes_cli import container_boot

    home = a.home
    result = {"kind": "result", "ok": True, "version": version("hermes-agent"),
              "mode": "apply" if a.apply else "dry"}
    before = {}
    if a.apply:
        for d in candidate_dirs(home):
            for f in RUNTIME_FILES:
                before[(d, f)] = os.path.lexists(d / f)
        if a.bootstrap_state == "running" and not (home / "gateway_state.json").is_file():
            try:  # the hook's printf redirection; a failure there does not stop the boot
                (home / "gateway_state.json").write_text('{"gateway_state":"running"}\n')
                emit({"kind": "bootstrap", "written": True})
            except OSError as e:
                emit({"kind": "bootstrap", "written": False, "error": str(e)})
        a.scandir.mkdir(parents=True, exist_ok=True)
        log_path = home / "logs" / "container-boot.log"
        log_before = log_path.read_text(errors="replace") if log_path.is_file() else ""

    try:
        actions = container_boot.reconcile_profile_gateways(
            hermes_home=home, scandir=a.scandir or Path("/nonexistent-scandir"),
            dry_run=not a.apply, container_argv=None if a.read_proc else tuple(argv))
    except BaseException as e:  # the whole boot fails upstream
        actions = None
        result.update(ok=False, error_type=type(e).__name__, error=str(e))

    for act in actions or []:
        pdir = home if act.profile == "default" else home / "profiles" / act.profile
        emit({"kind": "profile", "profile": act.profile,
              "profile_hex": os.fsencode(act.profile).hex(),
              "prior_state": jsonable(act.prior_state), "prior_state_log": str(act.prior_state),
              "action": act.action, "prior_exit": getattr(act, "prior_exit", "n/a"),
              "prior_exit_rule": prior_exit_rule(pdir)})
    if a.apply:
        if log_path.is_file():
            for line in log_path.read_text(errors="replace")[len(log_before):].splitlines():
                emit({"kind": "log", "line": line})
        for (d, f), existed in before.items():
            if existed and not os.path.lexists(d / f):
                rel = d.relative_to(home)
                emit({"kind": "swept", "profile_dir": str(rel), "profile_dir_hex": os.fsencode(rel).hex(), "file": f})
        for s in sorted(a.scandir.iterdir()):
            emit({"kind": "slot", "name": s.name, "down": (s / "down").exists()})
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
