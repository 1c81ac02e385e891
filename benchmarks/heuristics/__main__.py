"""``python -m benchmarks.heuristics``."""

from benchmarks.common.output import run_main
from benchmarks.heuristics.cli import main
from dtopt.cli import exit_with

exit_with(run_main(main, prog="benchmarks.heuristics"))
