"""HiGHS plumbing shared by both formulations: construction, arrays in, results out."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from dtopt.errors import DtoptError
from dtopt.solvers.milp._deadline import Deadline

__all__ = ["new_highs", "pass_arrays", "run", "y_values"]


def new_highs(verbose: bool, mip_gap: float, options: dict[str, Any]) -> Any:
    """A configured ``highspy.Highs`` instance that logs only if ``verbose``.

    HiGHS 1.16 prints a banner from the constructor of a process's first instance,
    before ``output_flag`` can be set, straight to file descriptor 1: it would
    corrupt ``dtopt place --json``. A quiet construction points descriptor 1 at
    the null device meanwhile.
    """
    import highspy

    if verbose:
        highs = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                highs = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    highs.setOptionValue("output_flag", bool(verbose))
    highs.setOptionValue("mip_rel_gap", float(mip_gap))
    highs.setOptionValue("mip_abs_gap", 0.0)
    for name, value in options.items():
        if highs.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise DtoptError(f"HiGHS rejected option {name}={value!r}")
    return highs


def pass_arrays(
    highs: Any,
    matrix: sparse.csc_matrix,
    cost: NDArray[np.float64],
    offset: float,
    col_bounds: tuple[NDArray[np.float64], NDArray[np.float64]],
    row_bounds: tuple[NDArray[np.float64], NDArray[np.float64]],
    integer: NDArray[np.bool_],
) -> None:
    """Hand a model given as arrays to HiGHS (CSC matrix, ``integer`` marks integer columns)."""
    import highspy

    # addRows / addCols read numpy buffers directly; filling a HighsLp's vectors converted
    # them element by element (1.2 s for pmed39's 34,000 columns).
    rows, columns = matrix.shape
    empty = np.zeros(0, dtype=np.int32)
    highs.addRows(rows, *row_bounds, 0, np.zeros(rows, dtype=np.int32), empty, np.zeros(0))
    highs.addCols(
        columns,
        np.asarray(cost, dtype=float),
        *col_bounds,
        matrix.nnz,
        matrix.indptr[:-1].astype(np.int32),
        matrix.indices.astype(np.int32),
        matrix.data.astype(float),
    )
    highs.changeObjectiveOffset(float(offset))
    columns = np.flatnonzero(integer).astype(np.int32)
    kinds = np.full(columns.size, int(highspy.HighsVarType.kInteger), dtype=np.uint8)
    highs.changeColsIntegrality(columns.size, columns, kinds)


def run(highs: Any, deadline: Deadline, *, relaxation: bool, stop: Callable[[], bool] | None = None) -> Any:
    """Run HiGHS (its LP relaxation only if ``relaxation``) within what is left of
    ``deadline``, stopping it at its next interrupt check once ``stop()`` holds; the
    model status."""
    remaining = deadline.remaining_s()
    highs.setOptionValue("time_limit", np.inf if remaining is None else remaining)
    highs.setOptionValue("solve_relaxation", relaxation)
    with _interruptible(highs, stop):
        if relaxation:
            # Presolve finds nothing to remove in these models (measured), so LPs skip it.
            _, presolve = highs.getOptionValue("presolve")
            highs.setOptionValue("presolve", "off")
            highs.run()
            highs.setOptionValue("presolve", presolve)
        else:
            highs.run()
    return highs.getModelStatus()


@contextmanager
def _interruptible(highs: Any, stop: Callable[[], bool] | None = None) -> Iterator[None]:
    """Let Ctrl-C stop HiGHS at its next interrupt check, then raise ``KeyboardInterrupt``;
    and stop it there once ``stop()`` holds.

    Inside ``run`` HiGHS is C code, where Python's own handler waits until the whole
    solve returns (seconds to minutes on a large model); its interrupt callbacks run
    Python, which records the signal here and asks HiGHS to stop. Signals reach the
    main thread only: elsewhere just ``stop`` is watched.
    """
    pressed = False
    main = threading.current_thread() is threading.main_thread()
    if not main and stop is None:
        yield
        return

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal pressed
        pressed = True

    def check(event: Any) -> None:
        # Written every time: HiGHS keeps the flag from one run to the next.
        event.interrupt(pressed or (stop is not None and stop()))

    callbacks = (highs.cbSimplexInterrupt, highs.cbIpmInterrupt, highs.cbMipInterrupt)
    previous = signal.signal(signal.SIGINT, on_sigint) if main else None
    for callback in callbacks:
        callback.subscribe(check)
    try:
        yield
    finally:
        for callback in callbacks:
            callback.unsubscribe(check)
        if main:
            signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def y_values(highs: Any, y_columns: NDArray[np.intp]) -> NDArray[np.float64] | None:
    """The values of the ``y`` columns in HiGHS's current solution, or ``None`` if it has none."""
    if highs.getInfo().primal_solution_status < 1:
        return None
    values = np.asarray(highs.getSolution().col_value)
    return values[y_columns] if values.size else None
