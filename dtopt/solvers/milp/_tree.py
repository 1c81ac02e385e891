"""Lagrangian branch and bound over the servers (Beasley 1993).

Every node of the tree is a set of servers forced open and a set forced closed; its
bound is the Lagrangian relaxation of the assignment constraints restricted to those
fixings (:func:`dtopt.solvers.lagrangian.subgradient`, started from its parent's
multipliers), which costs milliseconds where the LP relaxation of the same node costs
seconds to minutes (OR-Library pmed39, n = 900: 44 s by interior point, more than 116 s
by dual simplex). A node is pruned when its bound reaches the incumbent; otherwise the
bound's penalties fix servers (a server whose opening, or closing, would raise the
bound to the incumbent is closed, or opened) and the node branches on the open server
whose closing raises the bound most: open in one child, closed in the other.

When every latency is a whole number the total of any placement is one, so a node
is pruned as soon as its bound passes the incumbent's total less one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from dtopt.solvers.lagrangian import LagrangianBound, ServerValues, subgradient
from dtopt.solvers.milp._state import OPTIMALITY_TOLERANCE, Search

__all__ = ["lagrangian_tree"]

# Subgradient schedule at a node: started from the parent's multipliers, so shorter
# and gentler than at the root.
_NODE_ITERATIONS = 120
_NODE_LAMBDA = 0.5
_NODE_PATIENCE = 8


def lagrangian_tree(
    problem_cost: NDArray[np.float64],
    k: int,
    root: LagrangianBound,
    search: Search,
    until_s: float | None,
    polish: Callable[[NDArray[np.intp]], NDArray[np.intp]],
    stall_nodes: int | None = None,
    stall_s: float | None = None,
) -> bool:
    """Search the tree until it is exhausted (then the incumbent is optimal: returns
    True), or ``search.deadline`` expires, or ``until_s`` seconds of it have passed, or
    ``stall_nodes`` nodes or ``stall_s`` seconds have passed since it last improved the
    incumbent (or began; ``None``: no such limits); then returns False, with the least
    bound of the open nodes recorded in ``search``.

    ``problem_cost`` : shape ``(n, m)``, latencies (ms) of the pairs a placement better
    than the incumbent may use, ``+inf`` elsewhere; ``root`` : a Lagrangian bound on it
    (its forced-open servers stay open in the whole tree);
    ``polish`` : improves a placement that beat the incumbent (swaps).
    """
    cost = problem_cost
    n, m = cost.shape
    prices = ServerValues(cost)
    finite = cost[np.isfinite(cost)]
    step = 1.0 if np.array_equal(finite, np.round(finite)) else 0.0
    unusable = ~np.isfinite(cost).any(axis=0)
    fixed = np.zeros(m, dtype=bool) if root.opened is None else root.opened.copy()
    # (parent bound total, multipliers, opened, closed)
    stack = [(root.bound_ms * n, root.multipliers_ms, fixed, unusable & ~fixed)]
    nodes = improved_at = 0
    improved_s = search.deadline.elapsed_s()
    while stack:
        deadline = search.deadline
        stalled = (stall_nodes is not None and nodes - improved_at >= stall_nodes) or (
            stall_s is not None and deadline.elapsed_s() - improved_s >= stall_s
        )
        if stalled or deadline.expired() or (until_s is not None and deadline.elapsed_s() >= until_s):
            # Bounds on the reduced pairs hold for placements below the incumbent only.
            search.raise_bound(min(min(entry[0] for entry in stack) / n, search.upper_ms))
            search.note(f"Lagrangian tree stopped ({nodes} nodes, {len(stack)} open)")
            return False
        parent_bound, u, opened, closed = stack.pop()
        nodes += 1
        upper = search.upper_ms * n
        prune_at = upper - step + OPTIMALITY_TOLERANCE * upper
        if parent_bound >= prune_at:
            continue
        run = subgradient(
            cost, k, prices, u, upper, max_iterations=_NODE_ITERATIONS, lam=_NODE_LAMBDA,
            patience=_NODE_PATIENCE, opened=opened, closed=closed, target_total=prune_at,
        )  # fmt: skip
        if run.servers is not None and search.offer(run.servers):
            search.offer(polish(search.servers))
            improved_at, improved_s = nodes, deadline.elapsed_s()
            upper = search.upper_ms * n
            prune_at = upper - step + OPTIMALITY_TOLERANCE * upper
        bound, u, values = run.best
        if max(bound, parent_bound) >= prune_at:
            continue
        children = _branch(values, k, bound, prune_at, opened, closed)
        if children is None:
            continue
        for child_opened, child_closed in children:
            stack.append((max(bound, parent_bound), u, child_opened, child_closed))
    search.raise_bound(search.upper_ms)
    search.note(f"Lagrangian tree ({nodes} nodes)")
    return True


def _branch(
    values: NDArray[np.float64],
    k: int,
    bound: float,
    prune_at: float,
    opened: NDArray[np.bool_],
    closed: NDArray[np.bool_],
) -> list[tuple[NDArray[np.bool_], NDArray[np.bool_]]] | None:
    """The node's fixings by the bound's penalties, then its two children (the child
    with the branching server open last, so searched first); ``None`` when the fixings
    settle every server (leaves are scored by the subgradient's primal placements)."""
    opened, closed = opened.copy(), closed.copy()
    free = np.flatnonzero(~opened & ~closed)
    room = k - int(opened.sum())
    if room <= 0 or room >= free.size:
        return None  # the placement is settled: the subgradient scored it
    order = free[np.argsort(values[free], kind="stable")]
    chosen, rest = order[:room], order[room:]
    last_in, first_out = values[chosen[-1]], values[rest[0]]
    closed[rest[bound + values[rest] - last_in >= prune_at]] = True
    forced_open = bound - values[chosen] + first_out >= prune_at
    opened[chosen[forced_open]] = True
    free_chosen = chosen[~forced_open]
    if free_chosen.size == 0 or (~opened & ~closed).sum() <= k - opened.sum():
        # Settled by the fixings: one child holds the only placement left.
        return [(opened, closed)] if (~closed).sum() >= k else None
    # Branch on the open server whose closing costs the bound most.
    pick = free_chosen[np.argmax(first_out - values[free_chosen])]
    with_closed, with_open = closed.copy(), opened.copy()
    with_closed[pick] = True
    with_open[pick] = True
    return [(opened, with_closed), (with_open, closed)]
