"""dtopt: optimisation toolkit for digital twins of blockchain systems.

Placement::

    import dtopt
    problem = dtopt.PlacementProblem(dtopt.load_topology("Agis"), k=4)
    result = dtopt.solve(problem, "milp")

Dynamic consensus management (section 2) lives in :mod:`dtopt.consensus` (the
chain) and :mod:`dtopt.twin` (the digital twin); :func:`scenario_from_placement`
joins the two: the placed servers become the chain's validators.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dtopt.errors import DtoptError

if TYPE_CHECKING:
    from dtopt.pipeline import scenario_from_placement
    from dtopt.placement import Evaluation, PlacementProblem, PlacementResult, evaluate
    from dtopt.solvers import available_methods, solve
    from dtopt.solvers.pareto import ParetoFront, pareto
    from dtopt.topology import Topology, list_topologies, load_topology
    from dtopt.topology.orlib import OrlibInstance, load_orlib, read_orlib
    from dtopt.topology.tsplib import TsplibInstance, load_tsplib

__version__ = "0.1.0"

# The placement API is imported on first use (PEP 562): `import dtopt` stays light,
# so the `dtopt` command starts quickly and a Ctrl-C while it loads SciPy and Pyomo
# reaches its handler (one line, status 130) instead of a traceback.
_LAZY = {
    "Evaluation": "dtopt.placement",
    "PlacementProblem": "dtopt.placement",
    "PlacementResult": "dtopt.placement",
    "evaluate": "dtopt.placement",
    "available_methods": "dtopt.solvers",
    "solve": "dtopt.solvers",
    "Topology": "dtopt.topology",
    "list_topologies": "dtopt.topology",
    "load_topology": "dtopt.topology",
    "OrlibInstance": "dtopt.topology.orlib",
    "load_orlib": "dtopt.topology.orlib",
    "read_orlib": "dtopt.topology.orlib",
    "TsplibInstance": "dtopt.topology.tsplib",
    "load_tsplib": "dtopt.topology.tsplib",
    "ParetoFront": "dtopt.solvers.pareto",
    "pareto": "dtopt.solvers.pareto",
    "scenario_from_placement": "dtopt.pipeline",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'dtopt' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value

__all__ = [
    "DtoptError",
    "Evaluation",
    "OrlibInstance",
    "ParetoFront",
    "PlacementProblem",
    "PlacementResult",
    "Topology",
    "TsplibInstance",
    "__version__",
    "available_methods",
    "evaluate",
    "list_topologies",
    "load_orlib",
    "load_topology",
    "load_tsplib",
    "pareto",
    "read_orlib",
    "scenario_from_placement",
    "solve",
]
