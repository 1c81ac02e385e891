"""Placement and ledger together: end-to-end twin latency per placement method, consensus and k.

``python -m benchmarks.pipeline``; the parts are modules of this package."""

from benchmarks.pipeline.cli import main

__all__ = [
    "main",
]
