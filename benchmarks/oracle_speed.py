"""``python -m benchmarks.oracle_speed``: :mod:`benchmarks.speed.oracle`."""

from benchmarks.common.output import run_main
from benchmarks.speed.oracle import main
from dtopt.cli import exit_with

__all__ = ["main"]

if __name__ == "__main__":
    exit_with(run_main(main, prog="benchmarks.oracle_speed"))
