"""Dynamic consensus selection: static IBFT, static BigFoot, the twin and a clairvoyant bound.

``python -m benchmarks.consensus``; the parts are modules of this package, and some run on
their own (``python -m benchmarks.consensus.baselines``). Names load on first use.
"""

from benchmarks.common import lazy_names

# Where each name lives (other benchmarks and the tests import them from here).
_HOMES = {
    "PROTOCOLS": "runs",
    "STRATEGIES": "runs",
    "EstimateRecorder": "fidelity",
    "fidelity_rows": "fidelity",
    "true_state": "hindsight",
    "build_parser": "cli",
    "main": "cli",
}
__all__ = list(_HOMES)
__getattr__ = lazy_names(__name__, _HOMES)
