"""Placement benchmark: every method on every (network, k, eps_max) instance.

``python -m benchmarks.placement``; the parts are modules of this package, and one runs on
its own (``python -m benchmarks.placement.pins --write``). Names load on first use.
"""

from benchmarks.common import lazy_names

# Where each name lives (other benchmarks and the tests import them from here).
_HOMES = {
    "SPOPT": "cases",
    "Case": "cases",
    "Settings": "cases",
    "build_cases": "cases",
    "parse_eps_max": "cases",
    "parse_k": "cases",
    "run_case": "cases",
    "add_gaps": "tables",
    "check_rows": "tables",
    "summarise": "tables",
    "versus_spopt": "versus",
    "build_parser": "cli",
    "main": "cli",
}
__all__ = list(_HOMES)
__getattr__ = lazy_names(__name__, _HOMES)
