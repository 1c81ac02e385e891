"""Heuristics benchmark: optimality gap against the MILP, and speed against it.

``python -m benchmarks.heuristics``; the parts are modules of this package."""

from benchmarks.heuristics.cli import main

__all__ = [
    "main",
]
