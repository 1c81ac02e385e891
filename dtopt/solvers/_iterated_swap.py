"""Iterated local search over the swap neighbourhood of :mod:`dtopt.solvers._fast_swap`.

From a local optimum, each round moves a few servers of one region at random and descends
again; a round that finds nothing better is undone from a snapshot of the arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dtopt.solvers._fast_swap import RELATIVE_TOLERANCE, SwapNeighbourhood, descend

__all__ = ["perturbed_search"]

# Perturbations: at most this many random swaps at once, and at most k / _KICK_SHARE.
_MAX_KICK = 8
_KICK_SHARE = 4


def perturbed_search(
    hood: SwapNeighbourhood,
    rounds: int | None,
    rng: np.random.Generator,
    stop: Callable[[], bool] | None = None,
    patience: int | None = None,
) -> SwapNeighbourhood:
    """Iterated local search from the local optimum ``hood``: each round makes t random
    swaps in one region and descends again, keeping the result if it is better, else
    going back.

    t grows by one after a round that did not improve (up to min(8, max(2, k / 4))) and
    falls back to 1 after one that did (the shaking of variable neighbourhood search,
    Hansen and Mladenovic, "Variable neighborhood search for the p-median", 1997). The t
    swaps move the servers nearest to a random client, each to a random free site among
    the ``m / k`` nearest to a random client it serves, so that the descent repairs one
    region (on TSPLIB's fl1400 with p = 200, 1,000 rounds of swaps scattered over the whole
    placement ended 0.12-0.15% above the optimum, of region moves 0.05%); fixed servers
    never move. Stops after ``rounds`` rounds (``None``: no cap), after ``patience``
    rounds in a row without an improvement (``None``: none), or when ``stop()`` turns
    true; returns the best local optimum found.
    """
    k, m = len(hood.servers), hood.rows.shape[0]
    free = k if hood.locked is None else int((~hood.locked).sum())
    if k >= m or free == 0:
        return hood
    best, best_total = hood.snapshot(), hood.total
    size, largest = 1, min(_MAX_KICK, max(2, k // _KICK_SHARE), free, m - k)
    done = stale = 0
    while (rounds is None or done < rounds) and (patience is None or stale < patience):
        if stop is not None and stop():
            break
        done += 1
        _regional_kick(hood, rng, size)
        hood = descend(hood)
        if hood.total < best_total * (1 - RELATIVE_TOLERANCE):
            best, best_total, size, stale = hood.snapshot(), hood.total, 1, 0
        else:
            hood.restore(best)
            size, stale = size % largest + 1, stale + 1
    return hood


def _regional_kick(hood: SwapNeighbourhood, rng: np.random.Generator, size: int) -> None:
    """The ``size`` movable servers nearest to a random client, each moved to a random free
    site near a random client it serves."""
    n = hood.clients.shape[0]
    movable = np.arange(len(hood.servers)) if hood.locked is None else np.flatnonzero(~hood.locked)
    size = min(size, movable.size)
    costs = hood.clients[int(rng.integers(n)), hood.servers[movable]]
    servers = hood.servers.copy()
    opened = hood.is_server.copy()
    reach = max(2, -(-hood.rows.shape[0] // len(hood.servers)))  # a mean cluster size
    for position in movable[np.argpartition(costs, size - 1)[:size]]:
        served = np.flatnonzero(hood.nearest == position)
        client = int(rng.choice(served)) if served.size else int(rng.integers(n))
        sites = hood.near.sites[client, :reach]
        free = sites[~opened[sites]]
        if free.size:
            site = int(rng.choice(free))
            opened[site], opened[servers[position]] = True, False
            servers[position] = site
    hood.move_to(servers)
