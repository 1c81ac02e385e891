"""The digital-twin placement problem, its evaluation and its results."""

from dtopt.placement.evaluate import Evaluation, batch_total_cost, evaluate
from dtopt.placement.feasibility import infeasibility_reason, min_feasible_eps_max
from dtopt.placement.problem import PlacementProblem
from dtopt.placement.result import PlacementResult

__all__ = [
    "Evaluation",
    "PlacementProblem",
    "PlacementResult",
    "batch_total_cost",
    "evaluate",
    "infeasibility_reason",
    "min_feasible_eps_max",
]
