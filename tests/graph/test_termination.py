"""SIGTERM during a command: the clean-up runs, so the throwaway server an evaluation started is
stopped and its data directory removed, and the exit status says so (143)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from jobs.common.exit_codes import Exit

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _java_pids_under(state: Path) -> list[int]:
    """Returns the pids of the processes whose command line names ``state`` (the server's JVM)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(state) in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_sigterm_during_an_evaluation_stops_its_server_and_removes_its_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lines = [f"u{u} i{i}" for u in range(300) for i in rng.choice(200, 15, replace=False)]
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    # LightGCN's epochs keep the command busy long after its server is up.
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs", "evaluate", "recommend", "--interactions", str(pairs), "--model", "lightgcn",
         "--epochs", "500", "--device", "cpu"],
        cwd=REPO, env=env, stderr=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    # Drained on a thread, so that the command never blocks on a full pipe.
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while not any("throwaway Neo4j at" in line for line in lines) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        started = [line for line in lines if "throwaway Neo4j at" in line]
        assert started, "the evaluation never reported its server:\n" + "".join(lines[-20:])
        state = Path(started[0].rsplit("(data in ", 1)[1].rstrip(")\n"))
        servers = _java_pids_under(state)
        assert state.is_dir() and servers, "no server process found for the evaluation's state directory"
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=120)
        reader.join(timeout=10)
        assert status == Exit.TERMINATED, "".join(lines[-30:])
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in servers) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_alive(pid) for pid in servers), "the throwaway server outlived the command"
    assert not state.exists(), "the throwaway server's data directory was left behind"
