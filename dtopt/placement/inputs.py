"""Validation of a placement problem's parameters: one clear :class:`DtoptError` line each.

:class:`~dtopt.placement.problem.PlacementProblem` calls these from its constructor and
stores what they return (normalised values).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from dtopt._validate import check_real
from dtopt.errors import DtoptError
from dtopt.topology import Topology

if TYPE_CHECKING:
    from dtopt.placement.problem import PlacementProblem

__all__ = ["check_fixed", "check_variant", "real", "site_indices", "weights_array"]


def check_variant(problem: PlacementProblem) -> None:
    """Validate (and normalise) ``capacity`` and ``failure_prob``."""
    if problem.capacity is not None and problem.failure_prob is not None:
        raise DtoptError("capacity and failure_prob cannot be combined: the reliable model has no capacities")
    if problem.objective == "max" and (problem.capacity is not None or problem.failure_prob is not None):
        raise DtoptError("objective='max' (p-center) cannot be combined with capacity or failure_prob")
    if problem.failure_prob is not None:
        q = real(problem.failure_prob, "failure_prob")
        if not 0.0 <= q < 1.0:
            raise DtoptError(f"failure_prob must be in [0, 1), got {q}")
        object.__setattr__(problem, "failure_prob", q)
    if problem.capacity is None:
        return
    capacity = problem.capacity
    uniform = isinstance(capacity, numbers.Integral)
    scalar = uniform or isinstance(capacity, str | numbers.Number)
    values = [capacity] if scalar else list(np.ravel(np.asarray(capacity, dtype=object)))
    positive = [isinstance(c, numbers.Integral) and not isinstance(c, bool) and c > 0 for c in values]
    if not values or not all(positive):
        raise DtoptError(
            f"capacity must be a positive integer number of twins per server (or one per node), "
            f"got {capacity!r}"
        )
    sites = problem.topology.n_sites
    if not uniform and len(values) != sites:
        what = "node" if problem.topology.site_names is None else "site"
        raise DtoptError(f"capacity needs one value per {what} ({sites}), got {len(values)}")
    normalised = int(values[0]) if uniform else tuple(int(c) for c in values)
    object.__setattr__(problem, "capacity", normalised)
    capacities = problem.capacities
    fixed = np.zeros(problem.n_sites, dtype=bool)
    fixed[problem.fixed_columns] = True
    free = np.sort(capacities[~fixed])[::-1][: problem.k - int(fixed.sum())]
    largest = float(capacities[fixed].sum() + free.sum())
    demand = float(problem.demand.sum())
    if largest < demand:
        twins = f"{problem.n} twins" if problem.weights is None else f"total weight {demand:g}"
        raise DtoptError(
            f"total capacity {largest:g} of the {problem.k} largest servers is below the "
            f"{twins} to host: raise capacity or k"
        )


def site_indices(topology: Topology, given: object, name: str) -> tuple[int, ...] | None:
    """``candidates`` / ``fixed`` as ascending distinct site indices (``None`` stays ``None``)."""
    if given is None:
        return None
    if isinstance(given, str | numbers.Integral):
        items = [given]
    else:
        items = list(np.ravel(np.asarray(given, dtype=object)))
    m = topology.n_sites
    if items and all(isinstance(s, str) for s in items):
        idx = topology.site_indices(items).tolist()  # type: ignore[arg-type]
    elif all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in items):
        idx = [int(s) for s in items]
        if any(not 0 <= j < m for j in idx):
            raise DtoptError(f"{name} site indices must be in 0..{m - 1}, got {idx}")
    else:
        raise DtoptError(f"{name} must be site names or site indices, got {given!r}")
    if len(set(idx)) != len(idx):
        raise DtoptError(f"{name} must name distinct sites")
    if name == "candidates" and not idx:
        raise DtoptError("candidates must name at least one site (or be None for every site)")
    return tuple(sorted(idx)) if idx else None


def check_fixed(problem: PlacementProblem) -> None:
    """The fixed servers are candidates, and at most k of them."""
    if problem.fixed is None:
        return
    if problem.candidates is not None:
        outside = sorted(set(problem.fixed) - set(problem.candidates))
        if outside:
            names = problem.topology.sites
            listed = ", ".join(repr(names[j]) for j in outside[:5])
            raise DtoptError(f"fixed server(s) {listed} are not among the candidates")
    if len(problem.fixed) > problem.k:
        raise DtoptError(f"{len(problem.fixed)} fixed servers are more than k={problem.k}")


def weights_array(weights: object, n: int) -> NDArray[np.float64] | None:
    """``weights`` as a read-only float array of n finite values >= 0 with a positive sum."""
    if weights is None:
        return None
    try:
        values = np.array(weights, dtype=float)
    except (TypeError, ValueError):
        raise DtoptError("weights must be numbers, one per node") from None
    if values.shape != (n,):
        raise DtoptError(f"weights must hold one number per node ({n}), got shape {values.shape}")
    if not np.isfinite(values).all() or (values < 0).any():
        raise DtoptError("weights must be finite numbers >= 0")
    if values.sum() <= 0:
        raise DtoptError("weights must not all be zero")
    values.setflags(write=False)
    return values


def real(value: object, name: str) -> float:
    return check_real(name, value, lambda _: True, "a finite number")
