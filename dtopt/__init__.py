"""dtopt: optimisation toolkit for digital twins of blockchain systems.

Placement (design.md section 1)::

    import dtopt
    problem = dtopt.PlacementProblem(dtopt.load_topology("Agis"), k=4)
    result = dtopt.solve(problem, "milp")

Dynamic consensus management (section 2) lives in :mod:`dtopt.consensus` (the
chain) and :mod:`dtopt.twin` (the digital twin).
"""

from dtopt.errors import DtoptError
from dtopt.placement import Evaluation, PlacementProblem, PlacementResult, evaluate
from dtopt.solvers import available_methods, solve
from dtopt.solvers.pareto import ParetoFront, pareto
from dtopt.topology import Topology, list_topologies, load_topology

__version__ = "0.1.0"

__all__ = [
    "DtoptError",
    "Evaluation",
    "ParetoFront",
    "PlacementProblem",
    "PlacementResult",
    "Topology",
    "__version__",
    "available_methods",
    "evaluate",
    "list_topologies",
    "load_topology",
    "pareto",
    "solve",
]
