"""OR-Library p-median benchmark: every method on the 40 pmed instances, against the optima.

``python -m benchmarks.orlib``; the parts are modules of this package."""

from benchmarks.orlib.cli import (
    OrlibCase,
    check_rows,
    main,
    parse_instances,
    peer_ratios,
    run_case,
    solve_row,
)

__all__ = ["OrlibCase", "check_rows", "main", "parse_instances", "peer_ratios", "run_case", "solve_row"]
