"""``python -m benchmarks.oracle_fidelity``: :mod:`benchmarks.consensus.oracle_fidelity`."""

from benchmarks.common.output import run_main
from benchmarks.consensus.oracle_fidelity import main
from dtopt.cli import exit_with

__all__ = ["main"]

if __name__ == "__main__":
    exit_with(run_main(main, prog="benchmarks.oracle_fidelity"))
