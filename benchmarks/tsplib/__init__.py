"""TSPLIB p-median benchmark (``python -m benchmarks.tsplib``); the parts are modules of this package."""

from benchmarks.tsplib.cli import main, parse_cases, side_by_side

__all__ = ["main", "parse_cases", "side_by_side"]
