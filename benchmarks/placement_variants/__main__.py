"""``python -m benchmarks.placement_variants``."""

from benchmarks.common.output import run_main
from benchmarks.placement_variants.cli import main
from dtopt.cli import exit_with

exit_with(run_main(main, prog="benchmarks.placement_variants"))
