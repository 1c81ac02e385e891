"""``python -m benchmarks.exact_speed``: :mod:`benchmarks.speed.exact`."""

from benchmarks.common.output import run_main
from benchmarks.speed.exact import main
from dtopt.cli import exit_with

__all__ = ["main"]

if __name__ == "__main__":
    exit_with(run_main(main, prog="benchmarks.exact_speed"))
