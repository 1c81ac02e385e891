"""A Lagrangian lower bound for placement, by subgradient optimisation (Beasley 1993).

Relaxing the assignment constraints ``sum_j x_ij = 1`` of the p-median model with
multipliers ``u_i`` (ms) leaves, for any ``u``,

    L(u) = sum_i u_i + min_{|S| = k} sum_{j in S} V_j(u),   V_j(u) = sum_i min(0, c_ij - u_i),

a lower bound on the optimal *total* latency: the k servers of least ``V_j`` solve the
relaxed problem (Beasley 1993, "Lagrangean heuristics for location problems", European
Journal of Operational Research 65). Inadmissible pairs (``c_ij = inf``, beyond eps_max)
have no assignment variable, so they contribute nothing to ``V_j``: the bound respects the
error bound exactly. Subgradient steps ``u <- u + t g`` with ``g_i = 1 - sum_j x_ij`` and
Polyak's step ``t = lambda (UB - L) / |g|^2`` (lambda halved after a run of iterations
without improvement) push ``L`` up; each iteration's k servers are also scored as a
placement (the Lagrangian heuristic), which supplies the upper bound UB when the caller
gives none. One iteration is O(n^2) array work and no Python loop over nodes.

Everything returned is on the scale of :class:`~dtopt.placement.result.PlacementResult`:
``bound_ms`` is a lower bound on the optimal *mean* latency (the total divided by n).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers._checks import check_int, check_real
from dtopt.solvers._server_values import ServerValues
from dtopt.solvers._swap import Penalised, local_search
from dtopt.solvers.method import MethodOutput, register

__all__ = ["LagrangianBound", "ServerValues", "Subgradient", "lagrangian_bound", "subgradient"]

# Beasley's schedule: lambda starts at 2 and halves after this many iterations without a
# better bound; the search ends when lambda falls below the floor.
_LAMBDA_START = 2.0
_PATIENCE = 20
_LAMBDA_FLOOR = 5e-3
# Relative gap at which the bound proves the best placement optimal and the search stops.
_PROVEN_GAP = 1e-9
# Fixing is only claimed when the forced bound clears the upper bound by this much,
# relatively: far above the rounding error of summing n^2 terms in float64.
_FIXING_MARGIN = 1e-9


@dataclass(frozen=True, eq=False)
class LagrangianBound:
    """The outcome of a subgradient run.

    Attributes
    ----------
    bound_ms : lower bound on the optimal mean latency (ms): ``L(u) / n`` at the best ``u``.
    multipliers_ms : shape ``(n,)``, the best ``u`` (ms, one price per node).
    server_values_ms : shape ``(n,)``, ``V_j(u) / n`` at the best ``u`` (ms, <= 0): opening
        server j changes the relaxed mean by this much; the bound is
        ``multipliers_ms.mean()`` plus the sum of the k smallest values.
    servers : shape ``(k,)``, ascending, the best placement the Lagrangian heuristic found
        (each iteration's k servers of least ``V_j``), or ``None`` if none was feasible.
    placement_ms : its mean latency (ms), or ``None``.
    upper_bound_ms : the best known upper bound (ms): the caller's or ``placement_ms``.
    k : number of servers.
    iterations : subgradient iterations run.
    runtime_s : wall time (s).
    opened : shape ``(m,)``, the servers forced open (fixed), or ``None`` for none.
    """

    bound_ms: float
    multipliers_ms: NDArray[np.float64]
    server_values_ms: NDArray[np.float64]
    servers: NDArray[np.intp] | None
    placement_ms: float | None
    upper_bound_ms: float | None
    k: int
    iterations: int
    runtime_s: float
    opened: NDArray[np.bool_] | None = None

    def _ranked(self) -> NDArray[np.float64]:
        """The server values with the forced-open servers ranked first."""
        if self.opened is None:
            return self.server_values_ms
        return np.where(self.opened, -np.inf, self.server_values_ms)

    @property
    def gap(self) -> float | None:
        """``(upper_bound_ms - bound_ms) / upper_bound_ms``, or ``None`` without an upper bound."""
        upper = self.upper_bound_ms
        if upper is None:
            return None
        return max(0.0, upper - self.bound_ms) / upper if upper > 0 else 0.0

    def fixed_servers(self, upper_bound_ms: float) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Servers whose state is settled in every placement better than ``upper_bound_ms``.

        Forcing server j open (closed) raises the relaxed optimum at these multipliers to
        ``bound + V_j - V_[k]`` (``bound - V_j + V_[k+1]``), with ``V_[r]`` the r-th smallest
        server value; when that reaches ``upper_bound_ms``, no placement with j open
        (closed) has a mean latency below it.

        Returns
        -------
        closed : ascending indices of the servers that must be closed.
        opened : ascending indices of the servers that must be open.
        """
        upper = check_real("lagrangian", "upper_bound_ms", upper_bound_ms, lambda v: v >= 0, "a number >= 0")
        values, k = self.server_values_ms, self.k
        n = len(values)
        order = np.argsort(self._ranked(), kind="stable")
        chosen = np.zeros(n, dtype=bool)
        chosen[order[:k]] = True
        threshold = upper + _FIXING_MARGIN * max(upper, abs(self.bound_ms), 1e-300)
        with np.errstate(invalid="ignore"):  # a forced-open k-th value is -inf: nothing can enter
            forced = np.where(
                chosen,
                self.bound_ms - values + (values[order[k]] if k < n else np.inf),
                self.bound_ms + values - self._ranked()[order[k - 1]],
            )
        if self.opened is not None:
            forced[self.opened] = np.inf  # open in every placement
        fixed = forced >= threshold
        return np.flatnonzero(fixed & ~chosen), np.flatnonzero(fixed & chosen)

    def pair_bounds_ms(self, cost_ms: ArrayLike) -> NDArray[np.float64]:
        """Shape ``(n, n)``: a lower bound (ms) on the mean latency of every placement
        that serves node i from server j.

        Forcing ``x_ij = 1`` adds ``(c_ij - u_i)^+`` to the relaxed optimum and opening j
        adds ``(V_j - V_[k])^+``; a pair whose bound exceeds an upper bound is used by no
        better placement. ``cost_ms`` is the matrix the bound was computed on (+inf
        pairs get +inf).
        """
        cost = _cost_matrix(cost_ms)
        values = self.server_values_ms
        kth = np.partition(self._ranked(), self.k - 1)[self.k - 1]  # -inf: no free server enters
        opening = np.maximum(values - kth, 0.0)
        if self.opened is not None:
            opening[self.opened] = 0.0
        pair = np.maximum(cost - self.multipliers_ms[:, None], 0.0) / len(self.multipliers_ms)
        return self.bound_ms + pair + opening[None, :]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (arrays as lists)."""
        return {
            "bound_ms": self.bound_ms,
            "multipliers_ms": self.multipliers_ms.tolist(),
            "server_values_ms": self.server_values_ms.tolist(),
            "servers": None if self.servers is None else self.servers.tolist(),
            "placement_ms": self.placement_ms,
            "upper_bound_ms": self.upper_bound_ms,
            "k": self.k,
            "iterations": self.iterations,
            "runtime_s": self.runtime_s,
        }

    def to_json(self, **kwargs: Any) -> str:
        """One JSON object."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


def lagrangian_bound(
    cost_ms: ArrayLike,
    k: int,
    *,
    upper_bound_ms: float | None = None,
    max_iterations: int = 1000,
    time_limit_s: float | None = None,
    multipliers_ms: ArrayLike | None = None,
    fixed: ArrayLike | None = None,
) -> LagrangianBound:
    """Lower bound on the optimal mean latency of placing k servers, by subgradient.

    Parameters
    ----------
    cost_ms : shape ``(n, m)``, ``cost_ms[i, j]`` = latency of node i served at site j
        (ms), ``+inf`` where the pair is inadmissible (:attr:`PlacementProblem.cost_ms`).
    k : number of servers, 1..m.
    upper_bound_ms : a known mean latency of some feasible placement (ms), e.g. a
        heuristic's; steers the step size and lets the search stop once proven.
    max_iterations : cap on subgradient iterations, >= 1.
    time_limit_s : cap on wall time (s), > 0; ``None`` for none. At least one
        iteration always runs.
    multipliers_ms : shape ``(n,)``, starting ``u`` (a previous run's, to resume); by
        default each node's cost to its nearest other admissible server.
    fixed : columns of servers open in every placement (at most k), or ``None``.

    Deterministic: the same input gives the same output.
    """
    start = time.perf_counter()
    cost = _cost_matrix(cost_ms)
    n, m = cost.shape
    k = check_int("lagrangian", "k", k, minimum=1)
    if k > m:
        raise DtoptError(f"lagrangian option k must be at most the number of sites {m}, got {k}")
    opened = None
    if fixed is not None and np.size(fixed):
        opened = np.zeros(m, dtype=bool)
        opened[np.asarray(fixed, dtype=np.intp)] = True
        if opened.sum() > k:
            raise DtoptError(f"lagrangian option fixed holds more than k={k} servers")
    max_iterations = check_int("lagrangian", "max_iterations", max_iterations, minimum=1)
    if time_limit_s is not None:
        time_limit_s = check_real("lagrangian", "time_limit_s", time_limit_s, lambda v: v > 0, "> 0 or None")
    caller_upper = (
        np.inf
        if upper_bound_ms is None
        else n * check_real("lagrangian", "upper_bound_ms", upper_bound_ms, lambda v: v >= 0, "a number >= 0")
    )
    u = _initial_multipliers(cost) if multipliers_ms is None else _multipliers(multipliers_ms, n)
    run = subgradient(
        cost,
        k,
        ServerValues(cost),
        u,
        caller_upper,
        max_iterations=max_iterations,
        stop=None if time_limit_s is None else lambda: time.perf_counter() - start >= time_limit_s,
        opened=opened,
    )
    best, best_servers, best_primal, iterations = run.best, run.servers, run.primal, run.iterations
    bound_total, u_best, values_best = best
    # The bound cannot exceed a placement's value on the same matrix; above it is rounding.
    bound_total = min(bound_total, best_primal)
    placement_ms = best_primal / n if np.isfinite(best_primal) else None
    upper_ms = min(caller_upper, best_primal) / n
    return LagrangianBound(
        bound_ms=bound_total / n,
        multipliers_ms=u_best,
        server_values_ms=values_best / n,
        servers=best_servers if placement_ms is not None else None,
        placement_ms=placement_ms,
        upper_bound_ms=upper_ms if np.isfinite(upper_ms) else None,
        k=k,
        iterations=iterations,
        runtime_s=time.perf_counter() - start,
        opened=opened,
    )


@register("lagrangian", exact=False, summary="heuristic with a bound: Lagrangian relaxation, then swaps")
def lagrangian(
    problem: PlacementProblem, *, max_iterations: int = 1000, time_limit_s: float | None = None
) -> MethodOutput:
    """Subgradient optimisation of the Lagrangian bound (Beasley 1993), then swaps.

    The best placement of the Lagrangian heuristic is improved by best-improvement
    swaps (as in ``interchange``); the result carries the Lagrangian bound.

    Options
    -------
    max_iterations : cap on subgradient iterations, >= 1.
    time_limit_s : cap on the subgradient's wall time (s), > 0, or ``None``.
    """
    if not np.isfinite(problem.cost_ms).any(axis=1).all():
        return MethodOutput(None, "no_solution_found")  # a node no site may serve: solve() says why
    run = lagrangian_bound(
        problem.cost_ms,
        problem.k,
        max_iterations=max_iterations,
        time_limit_s=time_limit_s,
        fixed=problem.fixed_columns,
    )
    cost = Penalised.of(problem)
    start = run.servers if run.servers is not None else np.argsort(run._ranked())[: problem.k]
    servers = np.sort(local_search(cost, start).servers)
    return MethodOutput(servers, "feasible", bound_ms=run.bound_ms)


@dataclass(eq=False)
class Subgradient:
    """A subgradient run in totals (ms summed over nodes): ``best`` = (L, u, V) at the
    best ``u``, the best placement seen (``servers``, total ``primal``; inf if none)."""

    best: tuple[float, NDArray[np.float64], NDArray[np.float64]]
    servers: NDArray[np.intp] | None
    primal: float
    iterations: int


def subgradient(
    cost: NDArray[np.float64],
    k: int,
    prices: ServerValues,
    u: NDArray[np.float64],
    upper_total: float,
    *,
    max_iterations: int,
    stop: Callable[[], bool] | None = None,
    lam: float = _LAMBDA_START,
    patience: int = _PATIENCE,
    opened: NDArray[np.bool_] | None = None,
    closed: NDArray[np.bool_] | None = None,
    target_total: float | None = None,
) -> Subgradient:
    """Subgradient optimisation of ``L(u)`` from ``u`` over the placements that open
    every ``opened`` server and no ``closed`` one (masks of shape ``(n,)``; needs
    ``opened.sum() <= k <= n - closed.sum()``). ``upper_total``: a known placement's
    total (inf if none); the run stops once the bound reaches ``target_total``
    (default: the upper bound), after ``max_iterations``, or when ``stop()``.
    """
    n = prices.n_sites
    rank_shift = np.zeros(n)
    if closed is not None:
        rank_shift[closed] = np.inf
    if opened is not None:
        rank_shift[opened] = -np.inf
    best = (-np.inf, u, np.zeros(n))
    best_servers, best_primal = None, np.inf
    stale, iterations = 0, 0
    while iterations < max_iterations:
        iterations += 1
        values = prices(u)
        ranked = values + rank_shift
        servers = np.argpartition(ranked, k - 1)[:k] if k < n else np.arange(n)
        total = float(u.sum() + values[servers].sum())
        if total > best[0]:
            best, stale = (total, u, values), 0
        else:
            stale += 1
        sub = cost[:, servers]
        primal = float(sub.min(axis=1).sum())  # inf when a node has no admissible server
        if primal < best_primal:
            best_servers, best_primal = np.sort(servers), primal
        upper = min(upper_total, best_primal)
        goal = upper if target_total is None else min(target_total, upper)
        # g = 0 means the relaxed solution assigns every node once: it is feasible and optimal.
        g = 1.0 - (sub < u[:, None]).sum(axis=1)
        norm = float(g @ g)
        if norm == 0 or best[0] >= goal - _PROVEN_GAP * abs(goal):
            break
        if stale >= patience:
            lam, stale = lam / 2, 0
            if lam < _LAMBDA_FLOOR:
                break
        if stop is not None and stop():
            break
        # Without any upper bound yet, aim 10% above the current bound.
        aim = upper if np.isfinite(upper) else total + 0.1 * abs(total) + 1.0
        u = u + (lam * max(aim - total, 0.0) / norm) * g
    return Subgradient(best, best_servers, best_primal, iterations)


def _cost_matrix(cost_ms: ArrayLike) -> NDArray[np.float64]:
    cost = np.asarray(cost_ms, dtype=float)
    if cost.ndim != 2 or min(cost.shape) < 1:
        raise DtoptError(f"lagrangian cost_ms must be a matrix of nodes x sites, got shape {cost.shape}")
    if np.isnan(cost).any() or (cost < 0).any():
        raise DtoptError("lagrangian cost_ms must hold latencies >= 0 (or +inf where inadmissible)")
    if not np.isfinite(cost).any(axis=1).all():
        raise DtoptError("lagrangian cost_ms has a node with no admissible server at all")
    return cost


def _initial_multipliers(cost: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each node's cost to its nearest admissible server other than itself (0 if none;
    a rectangular matrix's sites are not nodes, so there every site counts)."""
    off = cost.copy()
    if cost.shape[0] == cost.shape[1]:
        np.fill_diagonal(off, np.inf)
    nearest = off.min(axis=1)
    return np.where(np.isfinite(nearest), nearest, 0.0)


def _multipliers(values: ArrayLike, n: int) -> NDArray[np.float64]:
    u = np.asarray(values, dtype=float)
    if u.shape != (n,) or not np.isfinite(u).all():
        raise DtoptError(f"lagrangian multipliers_ms must be {n} finite numbers")
    return u.copy()
