"""``python -m benchmarks.capacitated_speed``: :mod:`benchmarks.speed.capacitated`."""

from benchmarks.common.output import run_main
from benchmarks.speed.capacitated import main
from dtopt.cli import exit_with

__all__ = ["main"]

if __name__ == "__main__":
    exit_with(run_main(main, prog="benchmarks.capacitated_speed"))
