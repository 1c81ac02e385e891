"""Sweeps on a real dask cluster whose scheduler and workers have dtopt and nothing else.

The fixture starts ``dask scheduler`` and ``dask worker --nworkers 2`` as separate
processes, from a directory outside the repository, on 127.0.0.1 with ports the
system picks, and with only this checkout's ``dtopt`` importable (as if installed;
the environment's ``benchmarks`` there is scikit-learn-extra's, not ours). The
scheduler tolerates one worker death per task (``allowed-failures`` 1) so that a
case that kills every worker it runs on is found after two deaths, and gives each
worker one task at a time (``worker-saturation`` 1.0), so that only that case is blamed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import consensus, placement
from benchmarks.common import cluster, output
from benchmarks.common.output import BenchmarkError
from benchmarks.common.sweep import SweepStopped, run_cases

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60.0


def _start(command: list[str], home: Path, env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
    with (home / log).open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *command], cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its children below
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory):
    """The address of a scheduler with two single-threaded workers (stopped after the module)."""
    from distributed import Client

    home = tmp_path_factory.mktemp("dask-cluster")
    (home / "site").mkdir()
    (home / "site" / "dtopt").symlink_to(ROOT / "dtopt")
    env = {
        **os.environ,
        "PYTHONPATH": str(home / "site"),
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
        # One task per worker thread at a time: a dying worker takes only the case it ran
        # (by default a second, queued case would be blamed as well).
        "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
        "DASK_TEMPORARY_DIRECTORY": str(home),
    }
    address_file = home / "scheduler.json"
    processes = [_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                         "--scheduler-file", str(address_file)], home, env, "scheduler.log")]
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not address_file.exists() and processes[0].poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert address_file.exists(), (home / "scheduler.log").read_text()[-2000:]
        address = json.loads(address_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        workers = ["worker", address, "--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1"]
        workers.append("--no-dashboard")
        processes.append(_start(workers, home, env, "workers.log"))
        with Client(address, timeout="10s") as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT_S)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def _rows(out: Path, drop: tuple[str, ...] = ()) -> list[dict]:
    payload = json.loads((out / "results.json").read_text())
    return [{k: v for k, v in row.items() if k not in drop} for row in payload["rows"]]


def test_placement_sweep_on_the_cluster_gives_the_serial_rows(scheduler: str, tmp_path: Path) -> None:
    args = ["--topology", "Agis", "-k", "3..4", "--methods", "eopa,interchange", "--no-spopt",
            "--repeat-budget-s", "0"]
    assert placement.main([*args, "--serial", "--out", str(tmp_path / "serial")]) == 0
    assert placement.main([*args, "--scheduler", scheduler, "--out", str(tmp_path / "cluster")]) == 0
    serial, cluster = (_rows(tmp_path / way, drop=("runtime_s",)) for way in ("serial", "cluster"))
    assert len(serial) == 2 * 2 * 2 and cluster == serial
    execution = json.loads((tmp_path / "cluster" / "results.json").read_text())["execution"]
    assert execution == f"dask scheduler {scheduler}"


def test_consensus_sweep_on_the_cluster_gives_the_serial_rows(scheduler: str, tmp_path: Path) -> None:
    args = ["--scenario", "paper", "--seeds", "2", "--duration", "30", "--replicas", "4"]
    assert consensus.main([*args, "--serial", "--out", str(tmp_path / "serial")]) == 0
    assert consensus.main([*args, "--scheduler", scheduler, "--out", str(tmp_path / "cluster")]) == 0
    serial, cluster = (_rows(tmp_path / way) for way in ("serial", "cluster"))
    assert len(serial) == 2 * len(consensus.STRATEGIES) and cluster == serial


def test_a_worker_that_dies_mid_sweep_costs_only_its_case(scheduler: str, tmp_path: Path) -> None:
    marker = tmp_path / "died"

    def case(i: int) -> int:  # sent by value; kills its worker the first time case 2 runs
        time.sleep(0.2)
        if i == 2 and not marker.exists():
            marker.touch()
            os._exit(1)
        return i * i

    assert run_cases(case, range(6), scheduler=scheduler) == [i * i for i in range(6)]
    assert marker.exists()


def test_a_case_that_kills_its_workers_stops_the_sweep_and_keeps_the_rest(
    scheduler: str, tmp_path: Path
) -> None:
    def case(i: int) -> int:
        if i == 3:
            # Dies once the others have finished: a result still held by the worker it kills
            # would be lost with it (dask reruns such cases), and this test is about what
            # finished before the crash being kept.
            time.sleep(2.0)
            os._exit(1)
        return i * i

    with pytest.raises(SweepStopped) as stopped:
        run_cases(case, range(4), scheduler=scheduler, out=tmp_path)
    message = str(stopped.value)
    assert "\n" not in message and "case 4 of 4 (3) killed every dask worker" in message
    partial = json.loads((tmp_path / "partial.json").read_text())
    assert partial["cases"] == 4 and partial["stopped"] in message
    assert [(f["case"], f["result"]) for f in partial["finished"]] == [(0, 0), (1, 1), (2, 4)]


def test_a_cluster_without_this_dtopt_is_refused(monkeypatch) -> None:
    class Client:
        def run(self, func, on_error):  # type: ignore[no-untyped-def]
            return {"tcp://10.0.0.7:4000": {"version": "0.0.9", "path": "/opt/dtopt", "digest": "0123"},
                    "tcp://10.0.0.8:4000": ModuleNotFoundError("No module named 'dtopt'")}

    with pytest.raises(BenchmarkError, match=r"tcp://10.0.0.7:4000 .* imports another dtopt .*/opt/dtopt"):
        cluster._check_dtopt(Client(), "tcp://10.0.0.1:8786")
    same = {"version": "0.0.9", "path": "/x", "digest": "0123"}
    monkeypatch.setattr(cluster, "dtopt_digest", lambda: same)
    with pytest.raises(BenchmarkError, match=r"worker tcp://10.0.0.8:4000 cannot import dtopt"):
        cluster._check_dtopt(Client(), "tcp://10.0.0.1:8786")


def test_a_stopped_sweep_exits_1_with_one_line(capsys) -> None:
    line = "case 4 of 4 (3) killed every dask worker that ran it; ..."

    def main(argv: object) -> int:
        raise SweepStopped(line)

    assert output.run_main(main, [], prog="benchmarks.x") == 1
    assert capsys.readouterr().err == f"benchmarks.x: error: {line}\n"
