"""``python -m benchmarks.chain_speed``: :mod:`benchmarks.speed.chain`."""

from benchmarks.common.output import run_main
from benchmarks.speed.chain import main
from dtopt.cli import exit_with

__all__ = ["main"]

if __name__ == "__main__":
    exit_with(run_main(main, prog="benchmarks.chain_speed"))
