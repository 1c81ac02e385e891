"""Scoring placements: one in detail, or many at once as a vectorised batch.

:func:`evaluate` is the public answer, by node name like :func:`dtopt.solve`;
:func:`score` is the same scoring by node index, which the solvers use internally.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtopt.errors import DtoptError
from dtopt.placement.failures import SingleFailures, single_failures
from dtopt.placement.problem import PlacementProblem
from dtopt.placement.variants import capacitated_assignment, expected_totals, level_weights

__all__ = ["Evaluation", "Scores", "batch_total_cost", "evaluate", "score", "server_indices"]


class _Objective:
    """The objective of a scored placement (shared by :class:`Evaluation` and :class:`Scores`)."""

    avg_latency_ms: float | None
    expected_latency_ms: float | None

    @property
    def objective_ms(self) -> float | None:
        """What the problem minimises: the expected mean latency for a reliable
        problem, the mean latency otherwise (ms); ``None`` when infeasible."""
        return self.avg_latency_ms if self.expected_latency_ms is None else self.expected_latency_ms


@dataclass(frozen=True)
class Evaluation(_Objective):
    """A placement scored against a problem, by node name like :class:`PlacementResult`.

    Attributes
    ----------
    servers : names of the server nodes, in node order.
    assignment : node name -> name of the server it uses (its lowest-latency
        admissible server; with capacities, the transportation problem's
        assignment), for every node that has one.
    feasible : every node has an admissible server (with room).
    uncovered : names of the nodes without one, in node order.
    avg_latency_ms, max_latency_ms : mean and maximum over nodes of the latency to
        the assigned server (ms); ``None`` when infeasible.
    avg_error, max_error : mean and maximum twin error over nodes; ``None`` when
        infeasible or when the problem has no hop counts.
    expected_latency_ms : reliable problems: the expected mean latency over
        server failures (ms, the objective); ``None`` otherwise or when infeasible.
    failures : with ``failures="single"``, every single server and link failure.
    """

    servers: tuple[str, ...]
    assignment: dict[str, str]
    feasible: bool
    uncovered: tuple[str, ...]
    avg_latency_ms: float | None
    max_latency_ms: float | None
    avg_error: float | None
    max_error: float | None
    expected_latency_ms: float | None = None
    failures: SingleFailures | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with exactly this dataclass's fields."""
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        """One JSON object with exactly this dataclass's fields."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


@dataclass(frozen=True, eq=False)
class Scores(_Objective):
    """:class:`Evaluation` by node index (what the solvers work with).

    ``servers``: ascending indices, shape ``(k,)``; ``assignment``: shape ``(n,)``,
    the index of each node's server, -1 where it has none; ``uncovered``: indices.
    The other fields are :class:`Evaluation`'s.
    """

    servers: NDArray[np.intp]
    assignment: NDArray[np.intp]
    feasible: bool
    uncovered: NDArray[np.intp]
    avg_latency_ms: float | None
    max_latency_ms: float | None
    avg_error: float | None
    max_error: float | None
    expected_latency_ms: float | None = None
    failures: SingleFailures | None = None

    def named(self, problem: PlacementProblem) -> Evaluation:
        """The same scores by node name."""
        names = problem.topology.node_names
        return Evaluation(
            servers=tuple(names[j] for j in self.servers),
            assignment={names[i]: names[a] for i, a in enumerate(self.assignment) if a >= 0},
            feasible=self.feasible,
            uncovered=tuple(names[i] for i in self.uncovered),
            avg_latency_ms=self.avg_latency_ms,
            max_latency_ms=self.max_latency_ms,
            avg_error=self.avg_error,
            max_error=self.max_error,
            expected_latency_ms=self.expected_latency_ms,
            failures=self.failures,
        )


def server_indices(problem: PlacementProblem, servers: Iterable[int | str] | ArrayLike) -> NDArray[np.intp]:
    """Validate a placement given as node indices or names; ascending indices back."""
    items = list(np.asarray(servers, dtype=object).ravel()) if not isinstance(servers, str) else [servers]
    if items and all(isinstance(s, str) for s in items):
        idx = problem.topology.indices(items)  # type: ignore[arg-type]
    elif all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in items):
        idx = np.asarray(items, dtype=np.intp)
        if idx.size and (idx.min() < 0 or idx.max() >= problem.n):
            raise DtoptError(f"server indices must be in 0..{problem.n - 1}")
    else:
        raise DtoptError("servers must be all node names or all node indices")
    if len(set(idx.tolist())) != len(idx):
        raise DtoptError("servers must be distinct nodes")
    if len(idx) != problem.k:
        raise DtoptError(f"a placement has k={problem.k} servers, got {len(idx)}")
    return np.sort(idx)


def evaluate(
    problem: PlacementProblem, servers: Iterable[int | str] | ArrayLike, *, failures: str | None = None
) -> Evaluation:
    """Assign every node to its best admissible server in ``servers`` and score it.

    ``servers`` are node names or node indices; the answer speaks names, as
    :func:`dtopt.solve` does. See :func:`score` for the rest.
    """
    return score(problem, servers, failures=failures).named(problem)


def score(
    problem: PlacementProblem, servers: Iterable[int | str] | ArrayLike, *, failures: str | None = None
) -> Scores:
    """:func:`evaluate` by node index.

    With capacities the assignment is the transportation problem's (see
    :mod:`dtopt.placement.variants`); a reliable problem also gets its expected
    mean latency. ``failures="single"`` adds every single server and link failure
    (:mod:`dtopt.placement.failures`).
    """
    if failures not in (None, "single"):
        raise DtoptError(f"failures must be None or 'single', got {failures!r}")
    if failures is not None and problem.capacity is not None:
        raise DtoptError("failures='single' is not defined for capacitated problems (no room is reserved)")
    idx = server_indices(problem, servers)
    rows = np.arange(problem.n)
    if problem.capacity is not None:
        assignment, _ = capacitated_assignment(problem, idx)
        covered = assignment >= 0
    else:
        best = np.argmin(problem.cost_ms[:, idx], axis=1)
        covered = np.isfinite(problem.cost_ms[rows, idx[best]])
        assignment = np.where(covered, idx[best], -1)
    uncovered = np.flatnonzero(~covered)
    if uncovered.size:
        return Scores(idx, assignment, False, uncovered, None, None, None, None)
    latency = problem.latency_ms[rows, assignment]
    # A problem given as a cost matrix without hop counts has no twin error.
    error = problem.error[rows, assignment] if problem.error is not None else None
    expected = None
    if problem.failure_prob is not None:
        weights = level_weights(problem.failure_prob, problem.k)
        totals = expected_totals(problem.cost_ms.T, problem.latency_ms.T, idx[None, :], weights)
        expected = float(totals[0]) / problem.n
    return Scores(
        servers=idx,
        assignment=assignment,
        feasible=True,
        uncovered=uncovered,
        avg_latency_ms=float(latency.mean()),
        max_latency_ms=float(latency.max()),
        avg_error=float(error.mean()) if error is not None else None,
        max_error=float(error.max()) if error is not None else None,
        expected_latency_ms=expected,
        failures=single_failures(problem, idx) if failures == "single" else None,
    )


def batch_total_cost(cost_ms: NDArray[np.float64], placements: NDArray[np.intp]) -> NDArray[np.float64]:
    """Total latency (ms, summed over nodes) of many placements at once.

    Parameters
    ----------
    cost_ms : shape ``(n, n)``, :attr:`PlacementProblem.cost_ms` (inf = inadmissible).
    placements : shape ``(B, k)``, server indices of each placement.

    Returns
    -------
    shape ``(B,)``: the sum over nodes of the cost to the best server; inf for an
    infeasible placement. Uses ``B * n * k`` floats of memory: callers batch.
    """
    # (B, k, n): server rows of the transposed cost, reduced over servers then nodes.
    return cost_ms.T[placements].min(axis=1).sum(axis=1)
