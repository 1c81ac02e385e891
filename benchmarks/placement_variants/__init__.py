"""Placement variants: capacities, server failures, and the latency / error / servers front.

``python -m benchmarks.placement_variants``; the parts are modules of this package."""

from benchmarks.placement_variants.cli import Case, main, run_case

__all__ = [
    "Case",
    "main",
    "run_case",
]
