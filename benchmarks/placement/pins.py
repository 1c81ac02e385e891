"""The benchmark topologies pinned in ``topologies/pinned.json``.

Benchmarks warn (one line on stderr) when the installed topohub data of a pinned
network differs from the pin, since their numbers then stop being comparable.
Regenerate the pin after a deliberate topohub upgrade with::

    python -m benchmarks.placement.pins --write
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import sys
from collections.abc import Iterable
from pathlib import Path

import dtopt

__all__ = ["FIG3_NETWORKS", "PINNED_KEYS", "PIN_FILE", "check_pins", "current_pins", "topohub_file"]

PIN_FILE = Path(__file__).resolve().parents[2] / "topologies" / "pinned.json"

# Seed 001 Fig. 3 used TLex (12 nodes, 20 links), Agis (23, 33) and GTS-IP (37, 58).
# topohub ships no TLex (the raw file has nearly no coordinates) and no 37-node GTS
# network, so we take the closest by node count, ties by link count: Eenet (12, 12)
# and Geant2012 (37, 58); Agis is topohub's Agis (25, 30). See topologies/README.md.
FIG3_NETWORKS = ("topozoo/Eenet", "topozoo/Agis", "topozoo/Geant2012")
PINNED_KEYS = ("topozoo/Agis", "topozoo/Eenet", "topozoo/Geant2012", "topozoo/TataNld")


def topohub_file(key: str) -> Path:
    """The installed topohub JSON file of ``key`` (a full key, e.g. ``topozoo/Agis``)."""
    import topohub

    return Path(str(importlib.resources.files(topohub) / "data" / f"{key}.json"))


def current_pins(keys: Iterable[str] = PINNED_KEYS) -> dict[str, dict[str, object]]:
    """Node count, link count (as dtopt loads them) and file sha256 of each key."""
    pins: dict[str, dict[str, object]] = {}
    for key in keys:
        topology = dtopt.load_topology(key)
        pins[key] = {
            "n_nodes": topology.n_nodes,
            "n_links": topology.n_links,
            "sha256": hashlib.sha256(topohub_file(key).read_bytes()).hexdigest(),
        }
    return pins


def check_pins(keys: Iterable[str]) -> list[str]:
    """One warning line per pinned key in ``keys`` whose installed data differs from the pin."""
    if not PIN_FILE.is_file():
        return [f"no topology pin file at {PIN_FILE}; results cannot be checked against pinned data"]
    pinned = json.loads(PIN_FILE.read_text())["topologies"]
    wanted = [k for k in keys if k in pinned]
    now = current_pins(wanted)
    return [
        f"topohub data of {key} differs from topologies/pinned.json "
        f"({now[key]['n_nodes']} nodes, {now[key]['n_links']} links, "
        f"sha256 {str(now[key]['sha256'])[:12]}... "
        f"vs pinned {pinned[key]['n_nodes']}, {pinned[key]['n_links']}, {str(pinned[key]['sha256'])[:12]}...)"
        for key in wanted
        if now[key] != pinned[key]
    ]


def _write() -> None:
    from importlib.metadata import version

    payload = {
        "topohub_version": version("topohub"),
        "note": "node/link counts as dtopt.load_topology builds them; sha256 of topohub's data/<key>.json",
        "topologies": current_pins(),
    }
    PIN_FILE.parent.mkdir(exist_ok=True)
    PIN_FILE.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {PIN_FILE}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        print("usage: python -m benchmarks.placement.pins --write", file=sys.stderr)
        sys.exit(2)
    _write()
