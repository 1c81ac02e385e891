"""The exact Pareto front of mean latency, twin-error bound and number of servers.

The twin error depends on hop counts only, so a network has finitely many
distinct error values ``e_0 < e_1 < ...`` (one per hop radius), and the
epsilon-constraint problems ``min latency s.t. every error <= e`` differ only at
those values. For each k the loosest bound is solved first; its optimum has some
largest error ``e``, the same optimum solves every bound down to ``e``, so the
next bound that can change the answer is the largest value below ``e``. Solving
that chain (each solve warm-started from its looser neighbour's servers) until
the bound is infeasible visits every distinct optimum. Points dominated in
(k, max error, mean latency) are dropped; a point is a knee when, on its k's
curve normalised to the unit square, it lies farthest from the chord between the
curve's end points (Das, "On characterizing the 'knee' of the Pareto curve based
on normal-boundary intersection", 1999).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dtopt.errors import DtoptError
from dtopt.placement.problem import DEFAULT_ALPHA, DEFAULT_BETA, PlacementProblem, error_of_hops
from dtopt.solvers.registry import get_method, solve
from dtopt.topology import DEFAULT_RATE_KM_PER_MS, Topology, load_topology

__all__ = ["ENUMERATE_AT_MOST", "ParetoFront", "ParetoPoint", "pareto"]

# With method="milp", k whose C(n, k) placements are at most this are solved by
# enumeration instead: as exact, and faster than the MILP's set-up there (k = 1, 2).
ENUMERATE_AT_MOST = 200_000


@dataclass(frozen=True)
class ParetoPoint:
    """One optimum of an epsilon-constraint problem on the front.

    Attributes
    ----------
    k : number of servers.
    eps_max : the error bound solved.
    max_hops : the largest hop count between a node and its server; the point is
        optimal for every bound from ``max_error`` up to ``eps_max``.
    avg_latency_ms, max_latency_ms : the optimum's mean and largest latency (ms).
    avg_error, max_error : its mean and largest twin error (``max_error <= eps_max``).
    servers : its server names.
    method : the method that solved it.
    status : the method's status (``optimal`` = proven optimum of that problem).
    bound : proven lower bound on the mean latency (ms), exact methods.
    runtime_s : time of that solve (s).
    knee : a knee of its k's curve.
    """

    k: int
    eps_max: float
    max_hops: int
    avg_latency_ms: float
    max_latency_ms: float
    avg_error: float
    max_error: float
    servers: tuple[str, ...]
    method: str
    status: str
    bound: float | None
    runtime_s: float
    knee: bool = False


@dataclass(frozen=True)
class ParetoFront:
    """The non-dominated points, by k then decreasing error bound.

    Attributes
    ----------
    topology : network name.
    method : the method that solved every epsilon-constraint problem.
    points : the front.
    solved : epsilon-constraint problems solved (feasible ones), over all k.
    dominated : solved optima dropped as dominated.
    infeasible_k : values of k for which even the loosest bound is infeasible.
    runtime_s : wall-clock time of the whole front (s).
    """

    topology: str
    method: str
    points: tuple[ParetoPoint, ...]
    solved: int
    dominated: int
    infeasible_k: tuple[int, ...]
    runtime_s: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with exactly this dataclass's fields."""
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        """One JSON object with exactly this dataclass's fields."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    def plot(self, path: str | Path) -> Path:
        """Mean latency against max error, one curve per k, knees circled; saved as PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.0, 4.2))
        ks = sorted({p.k for p in self.points})
        for i, k in enumerate(ks):
            curve = sorted((p for p in self.points if p.k == k), key=lambda p: p.max_error)
            color = plt.cm.viridis(i / max(1, len(ks) - 1))  # one colour per k, however many
            ax.plot(
                [p.max_error for p in curve],
                [p.avg_latency_ms for p in curve],
                "o-",
                ms=3,
                color=color,
                label=f"k={k}",
            )
            knees = [p for p in curve if p.knee]
            ax.plot(
                [p.max_error for p in knees],
                [p.avg_latency_ms for p in knees],
                "o",
                ms=9,
                mfc="none",
                mec="k",
            )
        ax.set_xlabel("max twin error")
        ax.set_ylabel("mean latency (ms)")
        ax.set_title(f"{self.topology}: Pareto front ({self.method}); circles: knees")
        ax.legend(fontsize=7, ncol=2)
        path = Path(path)
        fig.tight_layout()
        fig.savefig(path, dpi=150)
        plt.close(fig)
        return path


def pareto(
    topology: Topology | str | Any,
    k: int | Iterable[int],
    *,
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_BETA,
    rate_km_per_ms: float = DEFAULT_RATE_KM_PER_MS,
    capacity: int | Iterable[int] | None = None,
    weights: Any = None,
    candidates: Iterable[str | int] | None = None,
    fixed: Iterable[str | int] | None = None,
    method: str = "milp",
    **options: Any,
) -> ParetoFront:
    """The Pareto front of (k, max twin error, mean latency) over ``k``.

    Parameters
    ----------
    topology : a Topology or anything :func:`~dtopt.load_topology` accepts.
    k : the numbers of servers (an int, a range or a list); not empty.
    alpha, beta, rate_km_per_ms : as in :class:`~dtopt.PlacementProblem`.
    capacity : optional server capacity (see :class:`~dtopt.PlacementProblem`);
        values of k whose total capacity is below n are skipped.
    weights, candidates, fixed : as in :class:`~dtopt.PlacementProblem` (the front is
        of the weighted mean latency; k below the number of fixed servers is an error).
    method : the method solving each epsilon-constraint problem (``milp`` proves
        each point, through EOPA's enumeration where C(n, k) is at most
        ``ENUMERATE_AT_MOST``; a heuristic gives an approximate front).
    **options : the method's options (e.g. ``time_limit_s``).
    """
    started = time.perf_counter()
    ks = _ks(k)
    topo = topology if isinstance(topology, Topology) else load_topology(topology)
    spec = get_method(method)
    base = PlacementProblem(
        topo,
        max(ks),
        eps_max=None,
        alpha=alpha,
        beta=beta,
        rate_km_per_ms=rate_km_per_ms,
        weights=weights,
        candidates=candidates,
        fixed=fixed,
    )
    radii = np.unique(base.hops)
    errors = error_of_hops(radii, base.alpha, base.beta)
    points: list[ParetoPoint] = []
    infeasible: list[int] = []
    for count in ks:
        try:
            problem = base.with_(k=count, capacity=capacity)
        except DtoptError:
            if capacity is None:
                raise
            infeasible.append(count)  # total capacity below n: no bound helps
            continue
        chain = _chain(problem, radii, errors, spec.name, options)
        if not chain:
            infeasible.append(count)
        points += chain
    front = _non_dominated(points)
    return ParetoFront(
        topology=topo.name,
        method=spec.name,
        points=tuple(_mark_knees(front)),
        solved=len(points),
        dominated=len(points) - len(front),
        infeasible_k=tuple(infeasible),
        runtime_s=time.perf_counter() - started,
    )


def _ks(k: int | Iterable[int]) -> list[int]:
    values = [k] if isinstance(k, int) else list(k)
    if not values:
        raise DtoptError("the k range is empty: give at least one number of servers")
    return sorted(set(values))


def _chain(
    problem: PlacementProblem, radii: np.ndarray, errors: np.ndarray, method: str, options: dict[str, Any]
) -> list[ParetoPoint]:
    """Every distinct epsilon-constraint optimum of one k, from the loosest bound down."""
    out: list[ParetoPoint] = []
    level = len(errors) - 1
    previous: tuple[str, ...] | None = None
    enumerate_ = (
        method == "milp"
        and problem.variant is None
        and math.comb(problem.n_sites - problem.fixed_columns.size, problem.k - problem.fixed_columns.size)
        <= ENUMERATE_AT_MOST
    )
    while level >= 0:
        eps = float(errors[level])
        bounded = problem.with_(eps_max=eps)
        extra = {} if enumerate_ else dict(options)
        if previous is not None and not enumerate_ and method == "milp" and problem.variant is None:
            extra["warm_start"] = _repaired(bounded, previous)
        result = solve(bounded, "eopa" if enumerate_ else method, **extra)
        if not result.feasible:
            break
        # The largest radius with the optimum's error (errors are all equal when beta = 0).
        radius = int(radii[np.flatnonzero(errors <= result.max_error + 1e-12)[-1]])  # type: ignore[operator]
        out.append(
            ParetoPoint(
                k=problem.k,
                eps_max=eps,
                max_hops=radius,
                avg_latency_ms=result.avg_latency_ms,
                max_latency_ms=result.max_latency_ms,  # type: ignore[arg-type]
                avg_error=result.avg_error,
                max_error=result.max_error,  # type: ignore[arg-type]
                servers=result.servers,
                method=result.method,
                status=result.status,
                bound=result.bound,
                runtime_s=result.runtime_s,
            )
        )
        previous = result.servers
        # The optimum holds for every bound down to its own max error: skip to the next value below it.
        below = np.flatnonzero(errors < result.max_error - 1e-12)  # type: ignore[operator]
        level = int(below[-1]) if below.size else -1
    return out


def _repaired(problem: PlacementProblem, servers: tuple[str, ...]) -> np.ndarray:
    """The looser neighbour's servers improved by swaps under the tighter bound: a feasible
    incumbent for the MILP (the neighbour itself breaks the new bound)."""
    from dtopt.placement.evaluate import server_indices
    from dtopt.solvers._swap import Penalised, local_search

    columns = local_search(Penalised.of(problem), server_indices(problem, servers)).servers
    return problem.sites[np.sort(columns)]


def _non_dominated(points: list[ParetoPoint]) -> list[ParetoPoint]:
    """Drop points another point beats or equals in every objective and beats in one."""
    if not points:
        return []
    obj = np.array([[p.k, p.max_error, p.avg_latency_ms] for p in points])
    tolerance = 1e-9 * np.maximum(np.abs(obj), 1.0)
    le = (obj[:, None, :] <= obj[None, :, :] + tolerance[None, :, :]).all(axis=2)  # [a, b]: a <= b everywhere
    lt = (obj[:, None, :] < obj[None, :, :] - tolerance[None, :, :]).any(axis=2)
    dominated = (le & lt).any(axis=0)
    return [p for p, d in zip(points, dominated, strict=True) if not d]


def _mark_knees(points: list[ParetoPoint]) -> list[ParetoPoint]:
    from dataclasses import replace

    out = []
    for k in sorted({p.k for p in points}):
        curve = sorted((p for p in points if p.k == k), key=lambda p: p.max_error)
        knee = _knee_index(np.array([[p.max_error, p.avg_latency_ms] for p in curve]))
        out += [replace(p, knee=i == knee) for i, p in enumerate(curve)]
    return sorted(out, key=lambda p: (p.k, -p.max_error))


def _knee_index(xy: np.ndarray) -> int | None:
    """Index of the point farthest from the chord of the normalised curve; ``None`` if < 3 points."""
    if len(xy) < 3:
        return None
    span = xy.max(axis=0) - xy.min(axis=0)
    unit = (xy - xy.min(axis=0)) / np.where(span > 0, span, 1.0)
    chord = unit[-1] - unit[0]
    norm = float(np.hypot(*chord))
    if norm == 0:
        return None
    distance = np.abs(chord[0] * (unit[:, 1] - unit[0, 1]) - chord[1] * (unit[:, 0] - unit[0, 0])) / norm
    best = int(np.argmax(distance))
    return best if distance[best] > 1e-12 else None
