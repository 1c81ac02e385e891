"""``python -m benchmarks.decision_speed``: :mod:`benchmarks.speed.decision`."""

from benchmarks.common.output import run_main
from benchmarks.speed.decision import main
from dtopt.cli import exit_with

__all__ = ["main"]

if __name__ == "__main__":
    exit_with(run_main(main, prog="benchmarks.decision_speed"))
