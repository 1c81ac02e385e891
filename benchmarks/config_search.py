"""``python -m benchmarks.config_search``: :mod:`benchmarks.consensus.config_search`."""

from benchmarks.common.output import run_main
from benchmarks.consensus.config_search import main
from dtopt.cli import exit_with

__all__ = ["main"]

if __name__ == "__main__":
    exit_with(run_main(main, prog="benchmarks.config_search"))
