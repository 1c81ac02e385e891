"""Run a benchmark's independent cases serially or as dask tasks, same results either way.

``run_cases(func, cases)`` returns ``[func(case) for case in cases]`` (in order),
computed in this process (``serial=True``), on a dask cluster at ``scheduler``
(an address such as ``tcp://10.0.0.5:8786``), or by default on a local cluster of
single-threaded worker processes, one per core. ``func`` must be importable by
workers (a module-level function of an installed or on-path module), and each
case must be picklable; a worker's result must not depend on what ran before it
there, so the three ways give the same results.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from benchmarks._output import BenchmarkError, progress

__all__ = ["SCHEDULER_TIMEOUT_S", "run_cases"]

T = TypeVar("T")
R = TypeVar("R")

SCHEDULER_TIMEOUT_S = 5.0


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
    if serial:
        bar = progress(len(cases), desc, force=show_progress)
        out = []
        for case in cases:
            out.append(func(case))
            bar.update()
        bar.close()
        return out
    return _run_dask(func, cases, scheduler, n_workers or os.cpu_count() or 1, desc, show_progress)


def _run_dask(
    func: Callable[[T], R],
    cases: Sequence[T],
    scheduler: str | None,
    n_workers: int,
    desc: str,
    show_progress: bool,
) -> list[R]:
    import logging

    from distributed import Client, LocalCluster, as_completed

    # The cluster's own log lines would drown the table; real failures still raise.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster: Any = None
    try:
        if scheduler is None:
            cluster = LocalCluster(
                processes=True, n_workers=n_workers, threads_per_worker=1, dashboard_address=":0"
            )
            client = Client(cluster)
        else:
            client = _connect(scheduler)
        with client:
            futures = client.map(func, list(cases), pure=False)
            position = {f.key: i for i, f in enumerate(futures)}
            results: list[Any] = [None] * len(cases)
            bar = progress(len(cases), desc, force=show_progress)
            for future in as_completed(futures):
                results[position[future.key]] = future.result()
                bar.update()
            bar.close()
            return results
    finally:
        if cluster is not None:
            cluster.close()


def _connect(address: str) -> Any:
    from distributed import Client

    try:
        return Client(address, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BenchmarkError(
            f"cannot reach dask scheduler {address!r} within {SCHEDULER_TIMEOUT_S:g} s ({detail})"
        ) from None
