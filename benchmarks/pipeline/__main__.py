"""``python -m benchmarks.pipeline``."""

from benchmarks.common.output import run_main
from benchmarks.pipeline.cli import main
from dtopt.cli import exit_with

exit_with(run_main(main, prog="benchmarks.pipeline"))
