"""Node names, coordinates and link lengths read out of a graph's attributes, validated.

Every value that enters here is checked: a coordinate or a length that is present
but not a finite number in range is a one-line :class:`DtoptError` naming the node
or link, never a silent NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dtopt.errors import DtoptError

__all__ = ["LENGTH_ATTRIBUTES", "check_degrees", "link_lengths_km", "node_names", "node_positions"]

# Link-length attributes tried in order when the caller names none: topohub's `dist`
# (km), then a plain `length_km`.
LENGTH_ATTRIBUTES = ("dist", "length_km")
# Geographic coordinate attributes, (longitude, latitude), in the order tried.
_LON_LAT_KEYS = (("Longitude", "Latitude"), ("lon", "lat"), ("longitude", "latitude"))


def node_names(attributes: Sequence[dict[str, Any]], ids: Sequence[object]) -> list[str]:
    """Unique names: ``name``, else ``label``, else the node id.

    Duplicate names (common in the Topology Zoo) get the node id appended.
    """
    raw = []
    for data, node in zip(attributes, ids, strict=True):
        name = str(data.get("name", data.get("label", ""))).strip()
        raw.append(name or str(node))
    seen: dict[str, int] = {}
    for name in raw:
        seen[name] = seen.get(name, 0) + 1
    return [f"{name} ({node})" if seen[name] > 1 else name for name, node in zip(raw, ids, strict=True)]


def node_positions(attributes: Sequence[dict[str, Any]], names: Sequence[str], topology: str) -> np.ndarray:
    """``(longitude, latitude)`` per node, shape ``(n, 2)``; NaN where the node has none.

    Named coordinates (``Latitude``/``Longitude``, ``lat``/``lon``,
    ``latitude``/``longitude``) must be finite degrees in range; topohub's
    ``pos = (x, y)`` may be planar (synthetic networks) and is range-checked only
    where a great-circle distance needs it (:func:`check_degrees`).
    """
    out = np.full((len(names), 2), np.nan)
    for i, (data, name) in enumerate(zip(attributes, names, strict=True)):
        for lon_key, lat_key in _LON_LAT_KEYS:
            if lon_key in data and lat_key in data:
                lon = _finite(data[lon_key], f"topology {topology!r}: node {name!r} has {lon_key}")
                lat = _finite(data[lat_key], f"topology {topology!r}: node {name!r} has {lat_key}")
                check_degrees(np.array([[lon, lat]]), [name], topology)
                out[i] = lon, lat
                break
        else:
            pos = data.get("pos")
            if pos is not None:
                where = f"topology {topology!r}: node {name!r} has pos"
                if isinstance(pos, str) or np.ndim(pos) != 1 or len(pos) != 2:
                    raise DtoptError(f"{where}={pos!r}, not two numbers (x, y)")
                out[i] = _finite(pos[0], where), _finite(pos[1], where)
    return out


def check_degrees(lon_lat: np.ndarray, names: Sequence[str], topology: str) -> None:
    """Refuse longitudes outside [-180, 180] or latitudes outside [-90, 90] degrees."""
    bad = (np.abs(lon_lat[:, 0]) > 180) | (np.abs(lon_lat[:, 1]) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        lon, lat = lon_lat[i]
        raise DtoptError(
            f"topology {topology!r}: node {names[i]!r} has longitude {lon:g}, latitude {lat:g}, outside "
            f"[-180, 180] x [-90, 90] degrees"
        )


def link_lengths_km(links: Sequence[dict[str, Any]], attribute: str | None, topology: str) -> np.ndarray:
    """Each link's given length in km, shape ``(m,)``; NaN where the link gives none.

    ``attribute`` names the length attribute; by default ``dist``, then ``length_km``.
    A named attribute that no link carries is an error rather than a silent fall-back
    to coordinates.
    """
    if attribute is not None and (not isinstance(attribute, str) or not attribute.strip()):
        raise DtoptError(f"length_attribute must be a non-empty attribute name, got {attribute!r}")
    keys = (attribute,) if attribute else LENGTH_ATTRIBUTES
    out = np.full(len(links), np.nan)
    for i, data in enumerate(links):
        key = next((k for k in keys if k in data), None)
        if key is None:
            continue
        where = f"topology {topology!r}: link length {key}"
        value = _finite(data[key], where)
        if value < 0:
            raise DtoptError(f"{where}={value:g} is negative; a length is a finite number of km >= 0")
        out[i] = value
    if attribute is not None and np.isnan(out).all():
        seen = sorted({str(k) for data in links for k in data})
        listed = ", ".join(seen[:8]) + (", ..." if len(seen) > 8 else "") if seen else "none"
        raise DtoptError(
            f"topology {topology!r}: no link has the length attribute {attribute!r} "
            f"(link attributes: {listed})"
        )
    return out


def _finite(value: object, where: str) -> float:
    """``value`` as a finite float, else a one-line error starting with ``where``."""
    if isinstance(value, bool):
        raise DtoptError(f"{where}={value!r}, not a number")
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DtoptError(f"{where}={value!r}, not a number") from None
    if not np.isfinite(out):
        raise DtoptError(f"{where}={value!r}; it must be a finite number")
    return out
