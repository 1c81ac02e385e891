"""The OR-Library p-median instances (Beasley 1985, "A note on solving large p-median problems").

Format of a ``pmedN.txt`` file: ``n m p`` on the first line, then m lines ``i j cost``:
undirected edges between nodes numbered 1..n. Some edges are listed more than once and, by
the library's convention, the *last* occurrence's cost is the one that counts (several
files give other optima when parallel edges collapse to the shortest instead). The
instance's cost matrix is the all-pairs shortest-path distance over those edges, and its
objective is the *sum* over nodes of the distance to the nearest of p chosen nodes.

In dtopt terms an instance is an unconstrained placement problem (``eps_max=None``) on a
network whose link lengths are the costs, with a propagation rate of 1 km/ms, so that
latencies are the library's costs and ``avg_latency_ms * n`` is its objective.

The 40 instances ship in ``topologies/orlib-pmed/`` with their published optima
(``pmedopt.txt``), pinned by the sha256 sums in ``SHA256SUMS``; :func:`load_orlib` checks
the file against its pin before reading it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.topology._pins import DATA_DIR, pinned
from dtopt.topology.model import Topology

__all__ = ["ORLIB_DIR", "OrlibInstance", "load_orlib", "orlib_names", "parse_orlib", "read_orlib"]

ORLIB_DIR = DATA_DIR / "orlib-pmed"
_WHAT = "OR-Library file"
_N_INSTANCES = 40
# Placement holds n x n matrices: refuse headers that could not fit in memory.
_MAX_NODES = 50_000


@dataclass(frozen=True, eq=False)
class OrlibInstance:
    """A shipped OR-Library instance and its published optimum.

    Attributes
    ----------
    name : ``"pmed1"`` .. ``"pmed40"``.
    problem : the placement problem (k = p, ``eps_max=None``, latencies = costs).
    optimum : the published optimal objective: the *sum* over nodes of the cost to
        the nearest server.
    """

    name: str
    problem: PlacementProblem
    optimum: float

    @property
    def optimum_ms(self) -> float:
        """The optimum as dtopt reports objectives: the mean latency (ms), ``optimum / n``."""
        return self.optimum / self.problem.n


def parse_orlib(text: str, name: str = "pmed") -> PlacementProblem:
    """The placement problem of one instance given as the text of a ``pmedN.txt`` file.

    Refused with one line: anything but whole numbers where the format has them,
    fewer or more than ``3 + 3 m`` numbers, n < 2, m < 1, p outside 1..n, node ids
    outside 1..n, costs < 0, or a disconnected graph.
    """
    tokens = text.split()
    if len(tokens) < 3:
        raise DtoptError(f"{name}: an OR-Library p-median file starts with 'n m p', got {text[:40]!r}")
    n, m, p = (_whole(token, name, what) for token, what in zip(tokens[:3], ("n", "m", "p"), strict=True))
    if not (2 <= n <= _MAX_NODES and m >= 1):
        raise DtoptError(f"{name}: needs 2 to {_MAX_NODES} nodes and at least one edge, got n={n}, m={m}")
    if not 1 <= p <= n:
        raise DtoptError(f"{name}: p must be between 1 and n={n}, got {p}")
    if len(tokens) != 3 + 3 * m:
        lines = (len(tokens) - 3) / 3
        raise DtoptError(
            f"{name}: header says m={m} edges, the file has {lines:g} edge lines ('i j cost' each)"
        )
    try:
        rows = np.array(tokens[3:], dtype=float).reshape(m, 3)
    except ValueError:
        raise DtoptError(f"{name}: edge lines must hold numbers ('i j cost')") from None
    ends, cost = rows[:, :2], rows[:, 2]
    if not np.all(np.isfinite(rows)) or np.any(ends != np.round(ends)):
        raise DtoptError(f"{name}: node ids must be whole numbers and costs finite")
    bad = np.flatnonzero(((ends < 1) | (ends > n)).any(axis=1))
    if bad.size:
        i, j = ends[bad[0]].astype(np.int64)
        raise DtoptError(f"{name}: edge line {bad[0] + 1} ({i} {j}) names a node outside 1..{n}")
    if np.any(cost < 0):
        raise DtoptError(f"{name}: edge line {int(np.argmax(cost < 0)) + 1} has a negative cost")
    u, v = (ends.astype(np.intp) - 1).T
    loops = u == v  # a loop cannot shorten a path
    u, v, cost = u[~loops], v[~loops], cost[~loops]
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    # The last occurrence of each edge wins: first occurrence in the reversed list.
    _, first_reversed = np.unique((lo * n + hi)[::-1], return_index=True)
    keep = np.sort(len(lo) - 1 - first_reversed)
    edges, length = np.column_stack([lo[keep], hi[keep]]), cost[keep]
    graph = coo_array((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    if len(edges) == 0 or connected_components(graph, directed=False)[0] > 1:
        raise DtoptError(f"{name}: the graph is not connected, so some costs are infinite")
    notes = []
    if len(edges) < m:
        notes.append(
            f"{m - len(edges)} repeated edge line(s) or loop(s): the last occurrence of an edge counts"
        )
    topology = Topology(
        name=name,
        source="OR-Library p-median",
        node_names=tuple(str(i) for i in range(1, n + 1)),
        positions=np.full((n, 2), np.nan),
        edges=edges,
        link_length_km=length,
        notes=tuple(notes),
    )
    return PlacementProblem(topology, p, eps_max=None, rate_km_per_ms=1.0)


def read_orlib(path: str | os.PathLike[str]) -> PlacementProblem:
    """The placement problem of a ``pmedN.txt`` file (see :func:`parse_orlib`)."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise DtoptError(f"cannot read OR-Library file {path}: {err}") from None
    return parse_orlib(text, path.stem)


def orlib_names() -> tuple[str, ...]:
    """The shipped instances, ``("pmed1", ..., "pmed40")``."""
    return tuple(f"pmed{i}" for i in range(1, _N_INSTANCES + 1))


def load_orlib(name: str, directory: str | os.PathLike[str] | None = None) -> OrlibInstance:
    """A shipped OR-Library instance (``"pmed1"`` .. ``"pmed40"``) with its optimum.

    Parameters
    ----------
    name : the instance's name.
    directory : where the files and ``SHA256SUMS`` are; the shipped copy by default.

    The file must match its sha256 pin, so results always refer to the published data.
    """
    if name not in orlib_names():
        raise DtoptError(f"unknown OR-Library instance {name!r}; choose pmed1 .. pmed{_N_INSTANCES}")
    folder = ORLIB_DIR if directory is None else Path(directory)
    problem = read_orlib(pinned(folder, f"{name}.txt", _WHAT))
    optima = _optima(pinned(folder, "pmedopt.txt", _WHAT))
    return OrlibInstance(name, problem, optima[name])


def _optima(path: Path) -> dict[str, float]:
    # "pmedN value" lines under a one-line header.
    pairs = re.findall(r"^(pmed\d+)\s+(\d+(?:\.\d*)?)\s*$", path.read_text(), flags=re.MULTILINE)
    return {name: float(value) for name, value in pairs}


def _whole(token: str, name: str, what: str) -> int:
    try:
        value = float(token)
    except ValueError:
        raise DtoptError(f"{name}: {what} in the header must be a whole number, got {token!r}") from None
    if not value.is_integer():
        raise DtoptError(f"{name}: {what} in the header must be a whole number, got {token!r}")
    return int(value)
