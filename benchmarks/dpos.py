"""``python -m benchmarks.dpos``: :mod:`benchmarks.consensus.dpos`."""

from benchmarks.common.output import run_main
from benchmarks.consensus.dpos import main
from dtopt.cli import exit_with

__all__ = ["main"]

if __name__ == "__main__":
    exit_with(run_main(main, prog="benchmarks.dpos"))
