"""``python -m benchmarks.consensus``."""

from benchmarks.common.output import run_main
from benchmarks.consensus.cli import main
from dtopt.cli import exit_with

exit_with(run_main(main, prog="benchmarks.consensus"))
