"""Run a benchmark's independent cases serially or as dask tasks, same results either way.

``run_cases(func, cases)`` returns ``[func(case) for case in cases]`` (in order),
computed in this process (``serial=True``), on a dask cluster at ``scheduler``
(an address such as ``tcp://10.0.0.5:8786``), or by default on a local cluster of
single-threaded worker processes, one per core. ``func`` must be importable by
workers (a module-level function of an installed or on-path module), and each
case must be picklable; a worker's result must not depend on what ran before it
there, so the three ways give the same results.

Ctrl-C: the local workers never see the terminal's SIGINT (it is blocked in the
threads that start them, and a blocked signal stays blocked across ``exec``), so
only this process is interrupted; it cancels the cases and closes the cluster,
and :func:`benchmarks._output.run_main` prints one line and exits with 130.

:func:`add_arguments` gives every sweeping benchmark the same options
(``--serial``, ``--scheduler``, ``--workers``, ``--progress``) and
:func:`sweep_options` turns them into ``run_cases`` keywords.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing import resource_tracker
from typing import Any, TypeVar

from benchmarks._output import BenchmarkError, progress

__all__ = ["SCHEDULER_TIMEOUT_S", "add_arguments", "describe", "run_cases", "sweep_options"]

T = TypeVar("T")
R = TypeVar("R")

SCHEDULER_TIMEOUT_S = 5.0
# After Ctrl-C, a busy local worker gets this long to stop before it is killed (s).
_STOP_GRACE_S = 0.5
# How often the main thread looks for finished cases (s), and so how soon it acts on Ctrl-C.
_POLL_S = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose where a sweep's cases run (same spelling in every benchmark)."""
    how = parser.add_argument_group("how to run")
    how.add_argument("--serial", action="store_true", help="run every case in this process")
    how.add_argument("--scheduler", metavar="ADDRESS", help="use the dask cluster at ADDRESS (tcp://host:8786)")
    how.add_argument("--workers", type=int, help="local dask cluster size (default: one per core)")
    how.add_argument("--progress", action="store_true", help="draw the progress bar even off a terminal")


def sweep_options(args: argparse.Namespace) -> dict[str, Any]:
    """``run_cases`` keywords from the :func:`add_arguments` options (validated)."""
    if args.workers is not None and args.workers < 1:
        raise BenchmarkError(f"--workers must be a positive integer, got {args.workers}")
    return {
        "serial": bool(args.serial),
        "scheduler": args.scheduler,
        "n_workers": args.workers,
        "show_progress": bool(args.progress),
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
) -> list[R]:
    """``[func(c) for c in cases]``, serially or on dask; a progress bar on a terminal.

    Parameters
    ----------
    serial : run in this process, one case after another.
    scheduler : address of an existing dask scheduler; its workers must be able
        to import ``func``'s module (start them from the repository root).
    n_workers : size of the local cluster (default ``os.cpu_count()``).
    show_progress : draw the progress bar even when stderr is not a terminal.
    """
    bar = progress(len(cases), desc, force=show_progress)
    try:
        if serial:
            out = []
            for case in cases:
                out.append(func(case))
                bar.update()
            return out
        return _run_dask(func, cases, scheduler, n_workers or os.cpu_count() or 1, bar)
    finally:
        bar.close()


def _run_dask(
    func: Callable[[T], R], cases: Sequence[T], scheduler: str | None, n_workers: int, bar: Any
) -> list[R]:
    import logging

    from distributed import Client, LocalCluster

    # The cluster's own log lines would drown the table; real failures still raise.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster: Any = None
    client: Any = None
    try:
        if scheduler is not None:
            client = _connect(scheduler)
        else:
            # Assigned inside the block: a Ctrl-C pressed meanwhile is raised on
            # leaving it, and the finally clause still closes both.
            with _sigint_deferred():
                cluster = LocalCluster(
                    processes=True, n_workers=n_workers, threads_per_worker=1, dashboard_address=":0",
                    silence_logs=logging.ERROR,  # the workers' own log, e.g. a task cancelled by Ctrl-C
                )
                client = Client(cluster)
        futures = client.map(func, list(cases), pure=False)
        results: list[Any] = [None] * len(cases)
        remaining = dict(enumerate(futures))
        while remaining:
            finished = [i for i, future in remaining.items() if future.done()]
            if not finished:
                # Short sleeps, not a blocking wait: a Ctrl-C that the kernel hands to
                # another thread (BLAS, the loop) is only acted on when this one wakes.
                time.sleep(_POLL_S)
            for i in finished:
                results[i] = remaining.pop(i).result()
                bar.update()
        return results
    except KeyboardInterrupt:
        if cluster is not None:
            _stop_workers(cluster)
        raise
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


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


def _connect(address: str) -> Any:
    from distributed import Client

    try:
        return Client(address, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BenchmarkError(
            f"cannot reach dask scheduler {address!r} within {SCHEDULER_TIMEOUT_S:g} s ({detail})"
        ) from None
