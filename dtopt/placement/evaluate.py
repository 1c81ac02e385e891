"""Scoring placements: one in detail, or many at once as a vectorised batch."""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem

__all__ = ["Evaluation", "batch_total_cost", "evaluate", "server_indices"]


@dataclass(frozen=True)
class Evaluation:
    """A placement scored against a problem, by node name like :class:`PlacementResult`.

    Attributes
    ----------
    servers : names of the server nodes, in node order.
    assignment : node name -> name of the server it uses (its lowest-latency
        admissible server), for every node that has one.
    feasible : every node has an admissible server.
    uncovered : names of the nodes without an admissible server, in node order.
    avg_latency_ms, max_latency_ms : mean and maximum over nodes of the latency to
        the assigned server (ms); ``None`` when infeasible.
    avg_error, max_error : mean and maximum twin error over nodes; ``None`` when
        infeasible.
    """

    servers: tuple[str, ...]
    assignment: dict[str, str]
    feasible: bool
    uncovered: tuple[str, ...]
    avg_latency_ms: float | None
    max_latency_ms: float | None
    avg_error: float | None
    max_error: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with exactly this dataclass's fields."""
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        """One JSON object with exactly this dataclass's fields."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


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


def evaluate(problem: PlacementProblem, servers: Iterable[int | str] | ArrayLike) -> Evaluation:
    """Assign every node to its best admissible server in ``servers`` and score it.

    ``servers`` are node names or node indices; the answer speaks names, as
    :func:`dtopt.solve` does.
    """
    idx = server_indices(problem, servers)
    names = problem.topology.node_names
    cost = problem.cost_ms[:, idx]
    best = np.argmin(cost, axis=1)
    rows = np.arange(problem.n)
    covered = np.isfinite(cost[rows, best])
    assignment = {names[i]: names[idx[best[i]]] for i in np.flatnonzero(covered)}
    server_names = tuple(names[j] for j in idx)
    if not covered.all():
        uncovered = tuple(names[i] for i in np.flatnonzero(~covered))
        return Evaluation(server_names, assignment, False, uncovered, None, None, None, None)
    latency = problem.latency_ms[rows, idx[best]]
    error = problem.error[rows, idx[best]]
    return Evaluation(
        servers=server_names,
        assignment=assignment,
        feasible=True,
        uncovered=(),
        avg_latency_ms=float(latency.mean()),
        max_latency_ms=float(latency.max()),
        avg_error=float(error.mean()),
        max_error=float(error.max()),
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
