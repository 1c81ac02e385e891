"""``python -m benchmarks.orlib``."""

from benchmarks.common.output import run_main
from benchmarks.orlib.cli import main
from dtopt.cli import exit_with

exit_with(run_main(main, prog="python -m benchmarks.orlib"))
