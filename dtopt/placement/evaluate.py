"""Scoring placements: one in detail, or many at once as a vectorised batch.

:func:`evaluate` is the public answer, by name like :func:`dtopt.solve`;
:func:`score` is the same scoring by column of the problem's matrices (the
candidate sites, in order), which the solvers use internally.
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
    max_latency_ms: float | None
    expected_latency_ms: float | None
    objective: str

    @property
    def objective_ms(self) -> float | None:
        """What the problem minimises first: the worst latency for ``objective="max"``
        (p-center), the expected mean latency for a reliable problem, the mean latency
        otherwise (ms); ``None`` when infeasible."""
        if self.objective == "max":
            return self.max_latency_ms
        return self.avg_latency_ms if self.expected_latency_ms is None else self.expected_latency_ms


@dataclass(frozen=True)
class Evaluation(_Objective):
    """A placement scored against a problem, by node name like :class:`PlacementResult`.

    Attributes
    ----------
    servers : names of the server sites, in site order.
    assignment : node name -> name of the server it uses (its lowest-latency
        admissible server; with capacities, the transportation problem's
        assignment), for every node that has one.
    feasible : every node has an admissible server (with room).
    uncovered : names of the nodes without one, in node order.
    avg_latency_ms, max_latency_ms : mean (weighted by the problem's ``weights``) and
        maximum over nodes of the latency to the assigned server (ms); ``None`` when
        infeasible.
    avg_error, max_error : mean (weighted likewise) and maximum twin error over nodes;
        ``None`` when infeasible or when the problem has no hop counts.
    expected_latency_ms : reliable problems: the expected mean latency over
        server failures (ms, the objective); ``None`` otherwise or when infeasible.
    failures : with ``failures="single"``, every single server and link failure.
    objective : the problem's objective, ``"mean"`` or ``"max"`` (:attr:`objective_ms`).
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
    objective: str = "mean"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with exactly this dataclass's fields."""
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        """One JSON object with exactly this dataclass's fields."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


@dataclass(frozen=True, eq=False)
class Scores(_Objective):
    """:class:`Evaluation` by index (what the solvers work with).

    ``servers``: ascending columns (candidate sites), shape ``(k,)``; ``assignment``:
    shape ``(n,)``, the column of each node's server, -1 where it has none;
    ``uncovered``: node indices. The other fields are :class:`Evaluation`'s.
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
    objective: str = "mean"

    def named(self, problem: PlacementProblem) -> Evaluation:
        """The same scores by name."""
        names, sites = problem.topology.node_names, problem.site_names
        return Evaluation(
            servers=tuple(sites[j] for j in self.servers),
            assignment={names[i]: sites[a] for i, a in enumerate(self.assignment) if a >= 0},
            feasible=self.feasible,
            uncovered=tuple(names[i] for i in self.uncovered),
            avg_latency_ms=self.avg_latency_ms,
            max_latency_ms=self.max_latency_ms,
            avg_error=self.avg_error,
            max_error=self.max_error,
            expected_latency_ms=self.expected_latency_ms,
            failures=self.failures,
            objective=self.objective,
        )


def server_indices(problem: PlacementProblem, servers: Iterable[int | str] | ArrayLike) -> NDArray[np.intp]:
    """Validate a placement given as site names or site indices (node indices for a
    network); its ascending columns (positions among the candidate sites) back."""
    items = _items(servers)
    if items and all(isinstance(s, str) for s in items):
        idx = problem.topology.site_indices(items)  # type: ignore[arg-type]
    elif all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in items):
        idx = np.asarray(items, dtype=np.intp)
        m = problem.topology.n_sites
        if idx.size and (idx.min() < 0 or idx.max() >= m):
            raise DtoptError(f"server indices must be in 0..{m - 1}")
    else:
        what = "node" if problem.topology.site_names is None else "site"
        raise DtoptError(f"servers must be all {what} names or all {what} indices")
    columns = np.searchsorted(problem.sites, idx)
    found = problem.sites[np.minimum(columns, problem.n_sites - 1)]
    outside = idx[(columns >= problem.n_sites) | (found != idx)]
    if outside.size:
        raise DtoptError(f"server {problem.topology.sites[outside[0]]!r} is not a candidate site")
    return _checked(problem, columns)


def _items(servers: object) -> list[object]:
    return list(np.asarray(servers, dtype=object).ravel()) if not isinstance(servers, str) else [servers]


def _checked(problem: PlacementProblem, columns: NDArray[np.intp]) -> NDArray[np.intp]:
    """Distinct, k of them, the fixed servers among them; sorted."""
    if len(set(columns.tolist())) != len(columns):
        raise DtoptError("servers must be distinct sites")
    if len(columns) != problem.k:
        raise DtoptError(f"a placement has k={problem.k} servers, got {len(columns)}")
    missing = np.setdiff1d(problem.fixed_columns, columns)
    if missing.size:
        raise DtoptError(f"a placement keeps the fixed server {problem.site_names[missing[0]]!r}")
    return np.sort(columns)


def _columns(problem: PlacementProblem, servers: Iterable[int | str] | ArrayLike) -> NDArray[np.intp]:
    """A placement as columns (or names), validated; ascending columns back."""
    items = _items(servers)
    if items and all(isinstance(s, str) for s in items):
        return server_indices(problem, items)
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in items):
        raise DtoptError("servers must be all site names or all columns")
    columns = np.asarray(items, dtype=np.intp)
    if columns.size and (columns.min() < 0 or columns.max() >= problem.n_sites):
        raise DtoptError(f"server columns must be in 0..{problem.n_sites - 1}")
    return _checked(problem, columns)


def evaluate(
    problem: PlacementProblem, servers: Iterable[int | str] | ArrayLike, *, failures: str | None = None
) -> Evaluation:
    """Assign every node to its best admissible server in ``servers`` and score it.

    ``servers`` are site names or site indices (node indices for a network; they must
    be candidates and include the fixed servers); the answer speaks names, as
    :func:`dtopt.solve` does. See :func:`score` for the rest.
    """
    return score(problem, server_indices(problem, servers), failures=failures).named(problem)


def score(
    problem: PlacementProblem, servers: Iterable[int | str] | ArrayLike, *, failures: str | None = None
) -> Scores:
    """:func:`evaluate` by column: ``servers`` are columns of the problem's matrices
    (positions among its candidate sites; node indices when every node is a site).

    Every node goes to its lowest-latency server within eps_max (for a p-center
    problem too: its objective is then the worst of those latencies). With
    capacities the assignment is the transportation problem's (see
    :mod:`dtopt.placement.variants`); a reliable problem also gets its expected
    mean latency. ``failures="single"`` adds every single server and link failure
    (:mod:`dtopt.placement.failures`).
    """
    if failures not in (None, "single"):
        raise DtoptError(f"failures must be None or 'single', got {failures!r}")
    if failures is not None and problem.capacity is not None:
        raise DtoptError("failures='single' is not defined for capacitated problems (no room is reserved)")
    idx = _columns(problem, servers)
    rows = np.arange(problem.n)
    if problem.capacity is not None:
        assignment, _ = capacitated_assignment(problem, idx)
        covered = assignment >= 0
    else:
        within = problem.within_bound[:, idx]
        best = np.argmin(np.where(within, problem.latency_ms[:, idx], np.inf), axis=1)
        covered = within[rows, best]
        assignment = np.where(covered, idx[best], -1)
    uncovered = np.flatnonzero(~covered)
    if uncovered.size:
        return Scores(idx, assignment, False, uncovered, None, None, None, None, objective=problem.objective)
    latency = problem.latency_ms[rows, assignment]
    # A problem given as a cost matrix without hop counts has no twin error.
    error = problem.error[rows, assignment] if problem.error is not None else None
    expected = None
    if problem.failure_prob is not None:
        weights = level_weights(problem.failure_prob, problem.k)
        totals = expected_totals(problem.cost_ms.T, problem.weighted_latency_ms.T, idx[None, :], weights)
        expected = float(totals[0]) / problem.n
    return Scores(
        servers=idx,
        assignment=assignment,
        feasible=True,
        uncovered=uncovered,
        avg_latency_ms=_mean(problem, latency),
        max_latency_ms=float(latency.max()),
        avg_error=_mean(problem, error) if error is not None else None,
        max_error=float(error.max()) if error is not None else None,
        expected_latency_ms=expected,
        failures=single_failures(problem, idx) if failures == "single" else None,
        objective=problem.objective,
    )


def _mean(problem: PlacementProblem, values: NDArray[np.float64]) -> float:
    """The mean over nodes, weighted by the problem's weights (sum w v / sum w)."""
    if problem.weights is None:
        return float(values.mean())
    return float(values @ problem.demand / problem.demand.sum())


def batch_total_cost(cost_ms: NDArray[np.float64], placements: NDArray[np.intp]) -> NDArray[np.float64]:
    """Total latency (ms, summed over nodes) of many placements at once.

    Parameters
    ----------
    cost_ms : shape ``(n, m)``, :attr:`PlacementProblem.cost_ms` (inf = inadmissible).
    placements : shape ``(B, k)``, server columns of each placement.

    Returns
    -------
    shape ``(B,)``: the sum over nodes of the cost to the best server; inf for an
    infeasible placement. Uses ``B * n * k`` floats of memory: callers batch.
    """
    # (B, k, n): server rows of the transposed cost, reduced over servers then nodes.
    return cost_ms.T[placements].min(axis=1).sum(axis=1)
