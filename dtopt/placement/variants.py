"""Scoring a placement under the model's two variants: capacities and server failures.

- Capacitated: given the servers, the best assignment is a transportation
  problem (nodes supply one twin each, server j takes at most ``C_j``). With
  server j split into ``C_j`` slots it is a minimum-weight bipartite matching,
  solved exactly and integrally by scipy's LAPJVsp
  (:func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching`). A dummy slot
  per node at a cost above ``n`` times the largest latency takes the twins that
  fit nowhere: minimising puts as few there as possible, and those nodes are the
  ones whose admissible servers are full. With demand weights a server hosts twins
  whose weights sum to at most ``C_j`` and each twin stays whole: a generalised
  assignment problem, solved exactly as a small integer program by HiGHS
  (:func:`scipy.optimize.milp`), with the same penalty per unhosted node.
- Reliable (Snyder and Daskin, 2005): server failures are independent with
  probability q. Node i uses its primary server while it is up, else its first
  backup, and so on; level r is reached with probability ``q^r (1 - q)``. The
  expected latency is taken given that some server is up (probability
  ``1 - q^k``), so it stays a mean of latencies. The primary must be admissible
  (the error bound holds in normal operation); backups are every other server in
  order of latency, the best order by an exchange argument, and a failure may
  push a node beyond eps_max.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from dtopt.placement.problem import PlacementProblem

__all__ = ["capacitated_assignment", "expected_totals", "level_weights"]


def capacitated_assignment(
    problem: PlacementProblem, servers: NDArray[np.intp]
) -> tuple[NDArray[np.intp], float]:
    """The best assignment of every node to an admissible server with room.

    Parameters
    ----------
    servers : shape ``(k,)``, server node indices.

    Returns
    -------
    assignment : shape ``(n,)``, server node index of each node, -1 where every
        admissible server is full (or there is none).
    penalised_total_ms : total latency of the assignment plus a penalty (above
        ``n`` times the largest latency) per unassigned node: the heuristics' score.
    """
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    n = problem.n
    penalty_ms = n * float(problem.latency_ms.max()) + 1.0
    if problem.weights is not None:
        return _weighted_assignment(problem, servers, penalty_ms)
    slots = np.minimum(problem.capacities[servers], n).astype(np.intp)  # no server hosts more than n twins
    owner = np.repeat(np.arange(len(servers)), slots)  # server position of each slot
    n_slots = len(owner)
    node, slot = np.nonzero(problem.within_bound[:, servers[owner]])
    latency = problem.latency_ms[node, servers[owner[slot]]]
    # Columns: the slots, then one dummy per node. A constant added to every weight
    # changes no optimum (each node is matched once) and keeps zero latencies stored as edges.
    weights = np.concatenate([latency, np.full(n, penalty_ms)]) + 1.0
    graph = csr_array(
        (weights, (np.concatenate([node, np.arange(n)]), np.concatenate([slot, n_slots + np.arange(n)]))),
        shape=(n, n_slots + n),
    )
    _, match = min_weight_full_bipartite_matching(graph)  # match[i] = column of node i
    hosted = match < n_slots
    assignment = np.where(hosted, servers[owner[np.minimum(match, n_slots - 1)]], -1)
    total = float(problem.latency_ms[np.flatnonzero(hosted), assignment[hosted]].sum())
    return assignment, total + penalty_ms * int(n - hosted.sum())


def _weighted_assignment(
    problem: PlacementProblem, servers: NDArray[np.intp], penalty_ms: float
) -> tuple[NDArray[np.intp], float]:
    """:func:`capacitated_assignment` with demand weights: binary ``x`` per admissible
    (node, server) pair and ``u_i`` per node (unhosted, at the penalty); each node once,
    ``sum_i w_i x_ij <= C_j``; minimise the weighted total (``node_weights``, mean 1)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    n, k = problem.n, len(servers)
    node, position = np.nonzero(problem.within_bound[:, servers])
    m = len(node)
    once = coo_array(
        (np.ones(m + n), (np.concatenate([node, np.arange(n)]), np.arange(m + n))), shape=(n, m + n)
    )
    room = coo_array((problem.demand[node], (position, np.arange(m))), shape=(k, m + n))
    res = milp(
        c=np.concatenate([problem.weighted_latency_ms[node, servers[position]], np.full(n, penalty_ms)]),
        constraints=[
            LinearConstraint(once.tocsr(), 1, 1),
            LinearConstraint(room.tocsr(), -np.inf, problem.capacities[servers]),
        ],
        integrality=np.ones(m + n),
        bounds=Bounds(0, 1),
    )
    chosen = res.x[:m] > 0.5
    assignment = np.full(n, -1, dtype=np.intp)
    assignment[node[chosen]] = servers[position[chosen]]
    return assignment, float(res.fun)


def level_weights(failure_prob: float, k: int) -> NDArray[np.float64]:
    """Probability of serving from level r (0 = primary) given some server is up, shape ``(k,)``."""
    r = np.arange(k)
    q = failure_prob
    return q**r * (1.0 - q) / (1.0 - q**k)


def expected_totals(
    primary_rows: NDArray[np.float64],
    latency_rows: NDArray[np.float64],
    placements: NDArray[np.intp],
    weights: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Expected total latency (ms, summed over nodes) of many placements at once.

    Parameters
    ----------
    primary_rows : shape ``(n, n)``, ``[j, i]`` = cost of node i with primary j
        (latency, or inf / a penalty where inadmissible).
    latency_rows : shape ``(n, n)``, ``[j, i]`` = latency of node i served at j (ms).
    placements : shape ``(B, k)``, server indices.
    weights : shape ``(k,)``, :func:`level_weights`.

    Returns
    -------
    shape ``(B,)``: the primary (cheapest by ``primary_rows``) weighted by
    ``weights[0]``, the other servers by increasing latency weighted by the rest.
    Uses about ``3 B k n`` floats: callers batch.
    """
    primary = primary_rows[placements]  # (B, k, n)
    first = np.argmin(primary, axis=1)  # (B, n)
    first_cost = np.take_along_axis(primary, first[:, None, :], axis=1)[:, 0, :]
    total = weights[0] * first_cost.sum(axis=1)
    if len(weights) > 1:
        backups = latency_rows[placements]
        np.put_along_axis(backups, first[:, None, :], np.inf, axis=1)
        backups.sort(axis=1)
        total += np.einsum("r,brn->b", weights[1:], backups[:, :-1, :])
    return total
