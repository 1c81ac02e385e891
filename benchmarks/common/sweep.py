"""Run a benchmark's independent cases serially or as dask tasks, same results either way.

``run_cases(func, cases)`` returns ``[func(case) for case in cases]`` (in order),
computed in this process (``serial=True``), on a dask cluster at ``scheduler``
(an address such as ``tcp://10.0.0.5:8786``), or by default on a local cluster of
single-threaded worker processes, one per core. ``func`` is a module-level function
of this package (or of dtopt) and each case is picklable; a worker's result must not
depend on what ran before it there, so the three ways give the same results. A
cluster needs dtopt installed and nothing else: :mod:`benchmarks.common.cluster` ships
this package to it.

A worker that dies mid-sweep (its process killed, out of memory) costs only its
running cases: dask runs them again on the others (and the worker's nanny starts
a new one). A case that keeps killing the workers it runs on, or a cluster left
without workers for ``WORKERS_TIMEOUT_S``, stops the sweep with
:class:`SweepStopped`: one line naming the case, after the cases that finished
are written to ``partial.json`` (in the benchmark's output directory, else a
temporary file; the line says where).

Ctrl-C: the local workers never see the terminal's SIGINT (it is blocked in the
threads that start them, and a blocked signal stays blocked across ``exec``), so
only this process is interrupted; it cancels the cases and closes the cluster,
and :func:`benchmarks.common.output.run_main` prints one line and exits with 130.

:func:`add_arguments` gives every sweeping benchmark the same options
(``--serial``, ``--scheduler``, ``--workers``, ``--progress``) and
:func:`sweep_options` turns them into ``run_cases`` keywords.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from benchmarks.common.cluster import WORKERS_TIMEOUT_S, connect, prepare
from benchmarks.common.output import BenchmarkError, progress, write_json

__all__ = ["SweepStopped", "add_arguments", "describe", "run_cases", "sweep_options"]

T = TypeVar("T")
R = TypeVar("R")

# After Ctrl-C, a busy local worker gets this long to stop before it is killed (s).
_STOP_GRACE_S = 0.5
# How often the main thread looks for finished cases (s), and so how soon it acts on Ctrl-C.
_POLL_S = 0.1
# How often it asks the scheduler how many workers it has (s).
_WORKERS_POLL_S = 1.0


class SweepStopped(BenchmarkError):
    """The cluster cannot finish the sweep; the finished cases were written (the message says where)."""

    exit_status = 1


def add_arguments(parser: argparse.ArgumentParser, group: Any = None, *, workers: int | None = None) -> None:
    """The options that choose where a sweep's cases run (same spelling in every benchmark),
    in ``group`` (an argument group of ``parser``) or a new group "how to run"; ``workers``:
    the default size of the local cluster (``None``: one worker per core)."""
    how = group if group is not None else parser.add_argument_group("how to run")
    how.add_argument("--serial", action="store_true", help="run every case in this process")
    how.add_argument("--scheduler", metavar="ADDRESS", help="use the dask cluster at ADDRESS (tcp://host:8786)")
    how.add_argument(
        "--workers", type=int, default=workers,
        help=f"local dask cluster size (default: {workers or 'one per core'})",
    )
    how.add_argument("--progress", action="store_true", help="draw the progress bar even off a terminal")


def sweep_options(args: argparse.Namespace) -> dict[str, Any]:
    """``run_cases`` keywords from the :func:`add_arguments` options (validated), with the
    benchmark's ``--out`` directory, if it has one, for the cases of a stopped sweep."""
    if args.workers is not None and args.workers < 1:
        raise BenchmarkError(f"--workers must be a positive integer, got {args.workers}")
    return {
        "serial": bool(args.serial),
        "scheduler": args.scheduler,
        "n_workers": args.workers,
        "show_progress": bool(args.progress),
        "out": getattr(args, "out", None),
    }


def describe(options: dict[str, Any]) -> str:
    """Where the cases ran, in words (for tables and results.json)."""
    if options.get("serial"):
        return "serial"
    if options.get("scheduler"):
        return f"dask scheduler {options['scheduler']}"
    n = options.get("n_workers") or os.cpu_count() or 1
    return f"local dask cluster, {n} single-threaded worker processes"


def run_cases(
    func: Callable[[T], R],
    cases: Sequence[T],
    *,
    serial: bool = False,
    scheduler: str | None = None,
    n_workers: int | None = None,
    desc: str = "cases",
    show_progress: bool = False,
    out: str | os.PathLike[str] | None = None,
) -> list[R]:
    """``[func(c) for c in cases]``, serially or on dask; a progress bar on a terminal.

    Parameters
    ----------
    serial : run in this process, one case after another.
    scheduler : address of an existing dask scheduler, whose workers have dtopt
        installed (this package is shipped to them, see :mod:`benchmarks.common.cluster`).
    n_workers : size of the local cluster (default ``os.cpu_count()``).
    show_progress : draw the progress bar even when stderr is not a terminal.
    out : where ``partial.json`` goes if the cluster stops the sweep (default: a
        temporary file).
    """
    bar = progress(len(cases), desc, force=show_progress)
    try:
        if serial:
            out = []
            for case in cases:
                out.append(func(case))
                bar.update()
            return out
        return _run_dask(func, cases, scheduler, n_workers or os.cpu_count() or 1, bar, out)
    finally:
        bar.close()


def _run_dask(
    func: Callable[[T], R], cases: Sequence[T], scheduler: str | None, n_workers: int, bar: Any,
    out: str | os.PathLike[str] | None,
) -> list[R]:
    import logging

    from distributed import Client, LocalCluster

    # The cluster's own log lines would drown the table, and a Ctrl-C makes its
    # heartbeats log errors as the workers stop; real failures still raise here.
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    cluster: Any = None
    client: Any = None
    futures: list[Any] = []
    try:
        if scheduler is not None:
            client = connect(scheduler)
            prepare(client, scheduler)
        else:
            # Assigned inside the block: a Ctrl-C pressed meanwhile is raised on
            # leaving it, and the finally clause still closes both.
            with _sigint_deferred():
                cluster = LocalCluster(
                    processes=True, n_workers=n_workers, threads_per_worker=1, dashboard_address=":0",
                    silence_logs=logging.CRITICAL,  # the workers' own log, e.g. a heartbeat cut by Ctrl-C
                )
                client = Client(cluster)
        futures = client.map(func, list(cases), pure=False)
        return _gather(client, futures, cases, bar, out, scheduler or "the local cluster")
    except KeyboardInterrupt:
        if cluster is not None:
            _stop_workers(cluster)
        elif client is not None:
            client.cancel(futures)  # a remote cluster stops working for us
        raise
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _gather(
    client: Any, futures: list[Any], cases: Sequence[Any], bar: Any, out: str | os.PathLike[str] | None,
    where: str,
) -> list[Any]:
    """The futures' results in order, as they finish; :class:`SweepStopped` if the cluster fails them."""
    from distributed import CancelledError
    from distributed.scheduler import KilledWorker

    results: dict[int, Any] = {}
    remaining = dict(enumerate(futures))
    workers_seen_s = asked_s = time.monotonic()
    while remaining:
        finished = [i for i, future in remaining.items() if future.done()]
        if not finished:
            # Short sleeps, not a blocking wait: a Ctrl-C that the kernel hands to
            # another thread (BLAS, the loop) is only acted on when this one wakes.
            time.sleep(_POLL_S)
            now = time.monotonic()
            if now - asked_s >= _WORKERS_POLL_S:
                asked_s = now
                if client.nthreads():
                    workers_seen_s = now
                elif now - workers_seen_s > WORKERS_TIMEOUT_S:
                    first = min(remaining)
                    _stop(f"{where} has had no worker for {WORKERS_TIMEOUT_S:g} s; case "
                          f"{first + 1} of {len(cases)} ({cases[first]!r}) and {len(remaining) - 1} more "
                          "did not finish", cases, results, remaining, out)
        for i in finished:
            try:
                results[i] = remaining.pop(i).result()
            except KilledWorker:
                _stop(f"case {i + 1} of {len(cases)} ({cases[i]!r}) killed every dask worker that ran it",
                      cases, results, remaining, out)
            except CancelledError:
                _stop(f"lost {where} while case {i + 1} of {len(cases)} ({cases[i]!r}) was running",
                      cases, results, remaining, out)
            bar.update()
    return [results[i] for i in range(len(cases))]


def _stop(
    why: str, cases: Sequence[Any], results: dict[int, Any], remaining: dict[int, Any],
    out: str | os.PathLike[str] | None,
) -> NoReturn:
    """Write every finished case to ``partial.json`` and raise :class:`SweepStopped`."""
    results = results | {i: f.result() for i, f in remaining.items() if f.status == "finished"}
    if out is not None:
        path = Path(out) / "partial.json"
    else:
        handle, name = tempfile.mkstemp(prefix="sweep-", suffix="-partial.json")
        os.close(handle)
        path = Path(name)
    finished = [
        {"index": i, "case": _plain(cases[i]), "result": _plain(r)} for i, r in sorted(results.items())
    ]
    write_json(path, {"stopped": why, "cases": len(cases), "finished": finished})
    raise SweepStopped(f"{why}; the {len(finished)} finished case(s) are in {path}")


def _plain(value: Any) -> Any:
    """A case or a result as JSON-ready data (dataclasses by their ``to_dict`` or fields)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _stop_workers(cluster: Any) -> None:
    """Stop a local cluster's workers at once (Ctrl-C): a busy worker is killed
    after ``_STOP_GRACE_S`` instead of finishing its case."""

    async def stop(nannies: list[Any]) -> None:
        await asyncio.gather(*(n.close(timeout=_STOP_GRACE_S) for n in nannies), return_exceptions=True)

    cluster.sync(stop, list(cluster.workers.values()))


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold back Ctrl-C while a local cluster starts; its workers never see one at all.

    SIGINT is blocked in this thread, and so in every thread it starts and every
    process those threads spawn: the cluster's worker processes keep it blocked
    for life. A Ctrl-C pressed meanwhile (delivered to an older thread) is only
    recorded, and raised here as KeyboardInterrupt on leaving, once the caller
    holds the cluster and can close it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; nothing to defer here
        return
    # Starting multiprocessing's resource tracker unblocks SIGINT in the starting
    # thread: have it running before the block.
    resource_tracker.ensure_running()
    pressed: list[int] = []
    handler = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, handler)
    if pressed:
        raise KeyboardInterrupt
