"""How many raw Topology Zoo files load, per format and coordinate policy.

``python -m benchmarks.zoo_files``; the parts are modules of this package."""

from benchmarks.zoo_files.cli import main, measure

__all__ = [
    "main",
    "measure",
]
