"""``python -m benchmarks.zoo_files``."""

from benchmarks.common.output import run_main
from benchmarks.zoo_files.cli import main
from dtopt.cli import exit_with

exit_with(run_main(main, prog="benchmarks.zoo_files"))
