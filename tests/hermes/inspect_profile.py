#!/usr/bin/env python3
"""Say what hermes itself thinks of a profile directory, as one JSON object.

Our test driver, not upstream code: it reads PROFILE_DIR (the root HERMES_HOME
or profiles/<name>) with the readers of the installed hermes-agent
(gateway/status.py, hermes_cli/container_boot.py, and
gateway/lifecycle_ledger.py when the version has it), so a test can check
that hermes' view of the files agrees with the supervisor's.

    inspect_profile.py PROFILE_DIR [--pid N] [--status-cli]

Read-only by default: every reader is called so that it cleans nothing up
(get_running_pid with cleanup_stale=False). --status-cli also runs
`hermes gateway status` for the profile, which is NOT read-only: when no
process holds gateway.lock it unlinks gateway.pid and gateway.lock.

Keys of the object (null when the file or value is absent):
  version                  hermes-agent version
  runtime_status           gateway_state.json as gateway.status.read_runtime_status returns it
                           (null: missing, empty, not UTF-8, not JSON, or not an object)
  runtime_status_unreadable  the file exists but the gateway's reader returns nothing: the gateway
                           will rebuild the file from scratch on its next write, dropping every key
  gateway_state            runtime_status["gateway_state"]
  boot_prior_state         what the container-boot reconciler decides from
                           (container_boot._read_desired_state); {"error": ...} when it raises
  running_pid              gateway.status.get_running_pid(cleanup_stale=False) with HERMES_HOME
                           set to PROFILE_DIR (gateway.lock, gateway.pid, then gateway_state.json)
  runtime_status_running_pid  get_runtime_status_running_pid(..., expected_home=PROFILE_DIR)
  lock_active              some process holds the flock on gateway.lock
  pid_record, lock_record  gateway.pid / gateway.lock as the gateway parses them
  planned_stop_marker      {"record", "stale", "targets_pid"} (targets_pid: with --pid N, whether
                           the gateway process N would take it as naming itself)
  takeover_marker          .gateway-takeover.json as read
  clean_shutdown           .clean_shutdown exists (the gateway's "last exit was graceful" marker)
  lifecycle                {"module": bool, "sentinel", "prior_exit_label", "unclean_evidence"}:
                           state/gateway.lifecycle.json; the labels only when the installed version
                           ships gateway/lifecycle_ledger.py (0.19.0 does not)
  status_cli               with --status-cli: {"running": bool, "pids": [...], "output": text}
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path


def guarded(fn):
    try:
        return fn()
    except Exception as e:  # report, never crash: a reader that raises is a finding
        return {"error": f"{type(e).__name__}: {e}"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile_dir", type=Path)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--status-cli", action="store_true")
    a = ap.parse_args()
    d = a.profile_dir.resolve()
    # The gateway's identity files live under the process's HERMES_HOME.
    os.environ["HERMES_HOME"] = str(d)

    from gateway import status
    from hermes_cli import container_boot

    out: dict = {"version": version("hermes-agent"), "profile_dir": str(d)}
    state_path = d / "gateway_state.json"
    rt = status.read_runtime_status(state_path)
    out["runtime_status"] = rt
    out["runtime_status_unreadable"] = rt is None and state_path.exists()
    out["gateway_state"] = rt.get("gateway_state") if isinstance(rt, dict) else None
    out["boot_prior_state"] = guarded(lambda: container_boot._read_desired_state(d))
    out["running_pid"] = guarded(lambda: status.get_running_pid(cleanup_stale=False))
    out["runtime_status_running_pid"] = guarded(
        lambda: status.get_runtime_status_running_pid(rt, expected_home=d) if rt else None)
    out["lock_active"] = guarded(lambda: status.is_gateway_runtime_lock_active(d / "gateway.lock"))
    out["pid_record"] = guarded(lambda: status._read_pid_record(d / "gateway.pid"))
    out["lock_record"] = guarded(lambda: status._read_gateway_lock_record(d / "gateway.lock"))

    marker = status._read_json_file(d / ".gateway-planned-stop.json")
    pm = {"record": marker, "stale": None, "targets_pid": None}
    if marker is not None:
        pm["stale"] = status._marker_is_stale(marker.get("written_at") or "", status._PLANNED_STOP_MARKER_TTL_S)
        if a.pid is not None:
            # The checks of _consume_pid_marker_for_self, for process a.pid instead of ourselves.
            try:
                target = int(marker["target_pid"])
                want_st = marker.get("target_start_time")
                have_st = status._get_process_start_time(a.pid)
                home_ok = marker.get("replacer_hermes_home") in (None, str(d))
                pm["targets_pid"] = (not pm["stale"] and home_ok and target == a.pid and
                                     (want_st is None or have_st is None or want_st == have_st))
            except (KeyError, TypeError, ValueError):
                pm["targets_pid"] = False
    out["planned_stop_marker"] = pm
    out["takeover_marker"] = status._read_json_file(d / ".gateway-takeover.json")
    out["clean_shutdown"] = (d / ".clean_shutdown").exists()

    lc: dict = {"module": False, "sentinel": None, "prior_exit_label": None, "unclean_evidence": None}
    sentinel = d / "state" / "gateway.lifecycle.json"
    if sentinel.exists():
        lc["sentinel"] = guarded(lambda: json.loads(sentinel.read_text(encoding="utf-8-sig")))
    try:
        from gateway import lifecycle_ledger  # absent in 0.19.0
    except ImportError:
        lifecycle_ledger = None
    if lifecycle_ledger is not None:
        lc["module"] = True
        lc["prior_exit_label"] = guarded(lambda: lifecycle_ledger.read_prior_exit_label(d))
        lc["unclean_evidence"] = guarded(lambda: lifecycle_ledger.detect_unclean_exit(home=d))
    out["lifecycle"] = lc

    if a.status_cli:
        hermes = Path(sys.executable).with_name("hermes")
        env = dict(os.environ, HERMES_HOME=str(d), HERMES_S6_SUPERVISED_CHILD="1")
        p = subprocess.run([str(hermes), "gateway", "status"], env=env, capture_output=True,
                           text=True, timeout=120)
        text = p.stdout + p.stderr
        m = re.search(r"Gateway is running \(PID: ([0-9, ]+)\)", text)
        out["status_cli"] = {
            "running": m is not None,
            "pids": [int(x) for x in m.group(1).split(",")] if m else [],
            "exit_code": p.returncode, "output": text}

    print(json.dumps(out, default=repr, ensure_ascii=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
