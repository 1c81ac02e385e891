"""Shared fixtures: seeded random networks for property tests."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from dtopt import Topology, load_topology


def random_topology(seed: int, n: int | None = None) -> Topology:
    """A connected random network with km lengths: a random tree plus a few chords.

    Lengths are rounded to 10 km so that equal-length alternative paths (ties the
    hop tie-break must resolve) are common.
    """
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 15)) if n is None else n
    graph = nx.random_labeled_tree(n, seed=int(rng.integers(2**31)))
    for _ in range(int(rng.integers(0, n))):
        u, v = rng.choice(n, size=2, replace=False)
        graph.add_edge(int(u), int(v))
    for u, v in graph.edges:
        graph.edges[u, v]["dist"] = float(10 * rng.integers(1, 40))
    graph.graph["name"] = f"random-{seed}"
    return load_topology(graph)


@pytest.fixture(scope="session")
def agis() -> Topology:
    return load_topology("Agis")
