"""TSPLIB point sets as p-median instances (Reinelt, "TSPLIB - a traveling salesman problem
library", 1991): every point is both a client and a candidate site.

A ``.tsp`` file has ``KEY : value`` lines (``NAME``, ``TYPE``, ``DIMENSION``,
``EDGE_WEIGHT_TYPE``, ``COMMENT``...), then ``NODE_COORD_SECTION`` with one ``i x y`` line
per node (ids 1..n), and an optional ``EOF``. Read here: ``EDGE_WEIGHT_TYPE`` ``EUC_2D``,
and ``ATT`` and ``GEO`` under TSPLIB's own rules.

The distance rule matters: the large-scale p-median literature (Duran-Mateluna, Ales and
Elloumi, "An efficient Benders decomposition for the p-median problem", 2023, and the
papers it compares with) rounds the Euclidean distance *down*, TSPLIB's EUC_2D rounds it
to the nearest integer, and the raw distance is a third choice; the three give different
optimal values. ``distance`` picks one:

- ``"floor"`` (default): ``floor(sqrt(dx^2 + dy^2))``, the rule of the published optima;
- ``"nint"``: ``floor(sqrt(dx^2 + dy^2) + 0.5)``, TSPLIB's EUC_2D rule;
- ``"euclid"``: ``sqrt(dx^2 + dy^2)`` unrounded;
- ``"tsplib"``: the file's own TSPLIB rule (EUC_2D: ``"nint"``; ATT: the pseudo-Euclidean
  distance ``sqrt((dx^2 + dy^2) / 10)`` rounded up; GEO: the geographical distance in km
  on TSPLIB's idealised sphere, truncated after adding 1). ATT and GEO files take only this.

The shipped instances ``rl1304`` and ``fl1400`` live in ``topologies/tsplib/``, pinned by
the sha256 sums in ``SHA256SUMS``, with the published optima of the floor rule
(``optima.json``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.topology._pins import DATA_DIR, pinned

__all__ = [
    "DISTANCES",
    "TSPLIB_DIR",
    "TsplibInstance",
    "distances",
    "load_tsplib",
    "parse_tsplib",
    "published",
    "tsplib_names",
]

TSPLIB_DIR = DATA_DIR / "tsplib"
DISTANCES = ("floor", "nint", "euclid", "tsplib")
_WHAT = "TSPLIB file"
_SHIPPED = ("rl1304", "fl1400")
_TYPES = ("EUC_2D", "ATT", "GEO")
# The cost matrix is n x n float64: refuse point sets whose matrix would not fit in memory.
_MAX_NODES = 20_000
# TSPLIB's GEO constants (its idealised Earth radius in km, and its pi).
_GEO_RADIUS_KM = 6378.388
_GEO_PI = 3.141592


@dataclass(frozen=True, eq=False)
class TsplibInstance:
    """A TSPLIB point set read as a p-median instance.

    Attributes
    ----------
    name : the file's ``NAME`` (its stem if it has none).
    edge_weight_type : ``"EUC_2D"``, ``"ATT"`` or ``"GEO"``.
    coordinates : shape ``(n, 2)``, the nodes' coordinates in id order.
    distance : the distance rule (one of :data:`DISTANCES`).
    optima : published optimal objectives (sums of distances) by p, for a shipped instance
        under the ``"floor"`` rule; empty otherwise.
    comment : the file's ``COMMENT``.
    """

    name: str
    edge_weight_type: str
    coordinates: NDArray[np.float64]
    distance: str
    optima: Mapping[int, float] = field(default_factory=lambda: MappingProxyType({}))
    comment: str = ""

    @property
    def n(self) -> int:
        """Number of points."""
        return self.coordinates.shape[0]

    @cached_property
    def cost_matrix(self) -> NDArray[np.float64]:
        """Shape ``(n, n)``: the distance between points under the rule, zero on the diagonal."""
        return distances(self.coordinates, self.edge_weight_type, self.distance)

    def problem(self, p: int) -> PlacementProblem:
        """The p-median problem on these points: ``p`` servers, no error bound, latencies =
        distances (so ``avg_latency_ms * n`` is the literature's objective)."""
        return PlacementProblem.from_cost_matrix(self.cost_matrix, p, name=self.name)

    def to_dict(self) -> dict[str, object]:
        """The instance's description (not its coordinates)."""
        return {
            "name": self.name,
            "n": self.n,
            "edge_weight_type": self.edge_weight_type,
            "distance": self.distance,
            "optima": {str(p): value for p, value in self.optima.items()},
            "comment": self.comment,
        }


def tsplib_names() -> tuple[str, ...]:
    """The shipped instances, ``("rl1304", "fl1400")``."""
    return _SHIPPED


def load_tsplib(path: str | os.PathLike[str], distance: str = "floor") -> TsplibInstance:
    """A TSPLIB instance: a shipped one by name (``"rl1304"``, ``"fl1400"``: checked against
    its pin, with the published optima under ``"floor"``) or any ``.tsp`` file by path.

    Parameters
    ----------
    path : a shipped instance's name, or the path of a ``.tsp`` file.
    distance : ``"floor"``, ``"nint"``, ``"euclid"`` or ``"tsplib"`` (see the module).
    """
    _check_distance(distance)
    if isinstance(path, str) and path in _SHIPPED:
        instance = parse_tsplib(_read(pinned(TSPLIB_DIR, f"{path}.tsp", _WHAT)), path, distance)
        if distance != "floor":
            return instance
        optima = MappingProxyType({p: row["optimum"] for p, row in published(path).items() if row["proven"]})
        return TsplibInstance(
            instance.name, instance.edge_weight_type, instance.coordinates, distance, optima, instance.comment
        )
    if not isinstance(path, str | os.PathLike):
        raise DtoptError(f"load_tsplib needs a path or one of {', '.join(_SHIPPED)}, got {path!r}")
    file = Path(path)
    if not file.is_file():
        raise DtoptError(f"no TSPLIB file {str(file)!r} (shipped instances: {', '.join(_SHIPPED)})")
    return parse_tsplib(_read(file), file.stem, distance)


def parse_tsplib(text: str, name: str = "tsplib", distance: str = "floor") -> TsplibInstance:
    """The instance given by the text of a ``.tsp`` file; ``name`` stands in for a missing
    ``NAME`` and prefixes every error.

    Refused with one line: a missing or bad ``DIMENSION``, an ``EDGE_WEIGHT_TYPE`` other
    than EUC_2D, ATT or GEO (or a rule other than ``"tsplib"`` for ATT and GEO), a ``TYPE``
    other than TSP, a section other than ``NODE_COORD_SECTION``, node lines that are not
    ``i x y`` with finite numbers, ids that are not 1..n each once.
    """
    _check_distance(distance)
    header: dict[str, str] = {}
    lines = text.splitlines()
    body: list[str] | None = None
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            continue
        key, _, value = stripped.partition(":")
        key = key.strip().upper()
        if key == "EOF":
            break
        if key == "NODE_COORD_SECTION":
            body = _section(lines[number:], name)
            break
        if key.endswith("_SECTION"):
            raise DtoptError(f"{name}: line {number}: only NODE_COORD_SECTION is read, not {key}")
        if not _:
            raise DtoptError(f"{name}: line {number}: expected 'KEY : value', got {stripped[:40]!r}")
        header[key] = value.strip()
    label = header.get("NAME") or name
    n = _dimension(header, name)
    kind = header.get("EDGE_WEIGHT_TYPE", "").upper()
    if kind not in _TYPES:
        raise DtoptError(
            f"{name}: EDGE_WEIGHT_TYPE must be one of {', '.join(_TYPES)}, got {kind or 'none'!r}"
        )
    if kind != "EUC_2D" and distance != "tsplib":
        raise DtoptError(f"{name}: {kind} points have TSPLIB's own rule only: pass distance='tsplib'")
    if header.get("TYPE", "TSP").upper() != "TSP":
        raise DtoptError(f"{name}: TYPE must be TSP (symmetric points), got {header['TYPE']!r}")
    if body is None:
        raise DtoptError(f"{name}: no NODE_COORD_SECTION")
    coordinates = _coordinates(body, n, name)
    return TsplibInstance(label, kind, coordinates, distance, comment=header.get("COMMENT", ""))


def distances(coordinates: NDArray[np.float64], kind: str, distance: str) -> NDArray[np.float64]:
    """Shape ``(n, n)``: the distances between ``coordinates`` (shape ``(n, 2)``) of a
    ``kind`` file (EUC_2D, ATT, GEO) under ``distance`` (see the module)."""
    if kind == "GEO":
        return _geo(coordinates)
    x, y = coordinates[:, 0], coordinates[:, 1]
    squared = (x[:, None] - x[None, :]) ** 2
    squared += (y[:, None] - y[None, :]) ** 2
    if kind == "ATT":
        real = np.sqrt(squared / 10.0)
        rounded = np.floor(real + 0.5)
        return np.where(rounded < real, rounded + 1.0, rounded)
    real = np.sqrt(squared, out=squared)
    if distance == "euclid":
        return real
    if distance == "floor":
        return np.floor(real, out=real)
    return np.floor(real + 0.5)  # "nint", "tsplib"


def _geo(coordinates: NDArray[np.float64]) -> NDArray[np.float64]:
    # TSPLIB's rule: DDD.MM is degrees and minutes; its reference code truncates the degrees.
    degrees = np.trunc(coordinates)
    radians = _GEO_PI * (degrees + 5.0 * (coordinates - degrees) / 3.0) / 180.0
    latitude, longitude = radians[:, 0], radians[:, 1]
    q1 = np.cos(longitude[:, None] - longitude[None, :])
    q2 = np.cos(latitude[:, None] - latitude[None, :])
    q3 = np.cos(latitude[:, None] + latitude[None, :])
    angle = np.arccos(np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0))
    out = np.floor(_GEO_RADIUS_KM * angle + 1.0)
    np.fill_diagonal(out, 0.0)  # the formula gives 1 from a point to itself
    return out


def _section(lines: list[str], name: str) -> list[str]:
    """The node lines of NODE_COORD_SECTION: up to EOF or the end of the text."""
    body = []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.upper() == "EOF":
            break
        if stripped[0].isalpha():
            raise DtoptError(f"{name}: only NODE_COORD_SECTION is read, not {stripped.split()[0][:40]!r}")
        body.append(stripped)
    return body


def _coordinates(body: list[str], n: int, name: str) -> NDArray[np.float64]:
    if len(body) != n:
        raise DtoptError(f"{name}: DIMENSION is {n}, NODE_COORD_SECTION has {len(body)} node lines")
    rows = [line.split() for line in body]
    bad = next((i for i, row in enumerate(rows) if len(row) != 3), None)
    if bad is not None:
        raise DtoptError(f"{name}: node line {bad + 1} must be 'i x y', got {body[bad][:40]!r}")
    try:
        values = np.array(rows, dtype=float)
    except ValueError:
        raise DtoptError(f"{name}: node lines must hold numbers ('i x y')") from None
    if not np.isfinite(values).all():
        raise DtoptError(f"{name}: node ids and coordinates must be finite numbers")
    ids = values[:, 0]
    if np.any(ids != np.round(ids)) or not np.array_equal(np.sort(ids), np.arange(1, n + 1)):
        raise DtoptError(f"{name}: node ids must be the whole numbers 1..{n}, each once")
    coordinates = np.empty((n, 2))
    coordinates[ids.astype(np.intp) - 1] = values[:, 1:]
    coordinates.setflags(write=False)
    return coordinates


def _dimension(header: dict[str, str], name: str) -> int:
    value = header.get("DIMENSION")
    if value is None:
        raise DtoptError(f"{name}: no DIMENSION line")
    try:
        n = int(value)
    except ValueError:
        raise DtoptError(f"{name}: DIMENSION must be a whole number, got {value!r}") from None
    if not 2 <= n <= _MAX_NODES:
        raise DtoptError(f"{name}: DIMENSION must be between 2 and {_MAX_NODES}, got {n}")
    return n


def _check_distance(distance: object) -> None:
    if distance not in DISTANCES:
        raise DtoptError(f"distance must be one of {', '.join(map(repr, DISTANCES))}, got {distance!r}")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise DtoptError(f"cannot read {_WHAT} {path}: {err}") from None


def published(name: str) -> dict[int, dict[str, object]]:
    """The published rows of a shipped instance by p: ``optimum`` (sum), ``proven``,
    ``time_s`` (the published Benders time, ``None`` at its limit) and ``nodes``."""
    if name not in _SHIPPED:
        raise DtoptError(f"unknown TSPLIB instance {name!r}; choose {', '.join(_SHIPPED)}")
    data = json.loads(_read(pinned(TSPLIB_DIR, "optima.json", _WHAT)))
    return {int(p): {**row, "optimum": float(row["optimum"])} for p, row in data["instances"][name].items()}
