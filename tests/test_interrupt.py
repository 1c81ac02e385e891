"""Ctrl-C: a benchmark sweep on dask and a dtopt command end at once with status 130,
one line on stderr and no traceback.

The signal goes to the whole process group, as a terminal's Ctrl-C does, so the
dask worker processes get it too unless they are shielded from it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Generous: a loaded machine takes seconds to start a local cluster (a Ctrl-C that
# arrives meanwhile takes effect once it is up) and to stop it.
TIMEOUT_S = 120.0


def _interrupt(argv: list[str], after_s: float, tmp_path: Path) -> tuple[int, str, float]:
    env = {**os.environ, "CI": "1"}
    proc = subprocess.Popen(
        [sys.executable, *argv], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )
    time.sleep(after_s)
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{argv} still running {TIMEOUT_S:g} s after Ctrl-C")
    return proc.returncode, err, time.monotonic() - sent


@pytest.mark.parametrize("after_s", [1.0, 12.0], ids=["while starting", "while running"])
def test_ctrl_c_stops_a_dask_sweep(tmp_path, after_s) -> None:
    status, err, _ = _interrupt(
        ["-m", "benchmarks.consensus", "--seeds", "4", "--duration", "2000", "--replicas", "16",
         "--workers", "2", "--out", str(tmp_path / "out")],
        after_s, tmp_path,
    )
    assert status == 130, err
    assert err.splitlines() == ["benchmarks.consensus: interrupted"], err
    assert not (tmp_path / "out" / "results.csv").exists()


@pytest.mark.parametrize("after_s", [0.5, 6.0], ids=["while importing", "while running"])
def test_ctrl_c_stops_a_dtopt_command(tmp_path, after_s) -> None:
    status, err, _ = _interrupt(["-m", "dtopt", "twin", "run", "--duration", "20000"], after_s, tmp_path)
    assert status == 130, err
    assert err.splitlines() == ["dtopt: interrupted"], err
