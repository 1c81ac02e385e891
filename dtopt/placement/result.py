"""The result every placement method returns."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["STATUSES", "PlacementResult", "Status"]

Status = Literal["optimal", "feasible", "time_limit", "infeasible", "no_solution_found", "error"]
STATUSES: tuple[Status, ...] = (
    "optimal", "feasible", "time_limit", "infeasible", "no_solution_found", "error"
)


@dataclass(frozen=True)
class PlacementResult:
    """A placement found by one method, with its quality and cost.

    Attributes
    ----------
    method : the method's name (``"eopa"``, ``"milp"``, ``"isapa"``...).
    status : ``"optimal"`` (proven), ``"feasible"`` (a heuristic's answer, or an
        exact method stopped at a gap), ``"time_limit"`` (stopped by the time limit),
        ``"infeasible"`` (an exact method proved that no placement of k servers
        meets eps_max), ``"no_solution_found"`` (a heuristic found no placement
        meeting eps_max; it proves nothing, and ``reason`` says whether one exists),
        or ``"error"`` (the solver failed; ``reason`` has its message, and the best
        placement found before, if any, is kept).
    servers : names of the server nodes, in node order; empty when none was found.
    assignment : node name -> name of the server it uses; empty when none was found.
    avg_latency_ms : mean latency from a node to its server (ms), or ``None``.
    max_latency_ms : largest such latency (ms), or ``None``.
    avg_error : mean twin error over nodes, or ``None``.
    max_error : largest twin error, or ``None``.
    bound : proven lower bound on the optimal objective (ms): ``avg_latency_ms``, or
        ``expected_latency_ms`` for a reliable problem; ``None`` if unknown: the
        method's own (an exact method's), else a short Lagrangian bound computed by
        :func:`~dtopt.solve` (``bound_iterations``; not for reliable problems), or the
        optimum the caller gave.
    gap : ``(objective - bound) / objective`` for every method (0 when both are 0);
        ``None`` without a placement or a bound.
    runtime_s : wall-clock time of the solve, model building, scoring and bound included (s).
    options : the method's options as used, defaults filled in.
    reason : why there is no (optimal) answer, in one line; ``None`` otherwise.
    expected_latency_ms : reliable problems (``failure_prob``): the expected mean
        latency over independent server failures (ms), the objective; else ``None``.
    """

    method: str
    status: Status
    servers: tuple[str, ...]
    assignment: dict[str, str]
    avg_latency_ms: float | None
    max_latency_ms: float | None
    avg_error: float | None
    max_error: float | None
    bound: float | None
    gap: float | None
    runtime_s: float
    options: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    expected_latency_ms: float | None = None

    @property
    def feasible(self) -> bool:
        """A placement meeting eps_max was found."""
        return bool(self.servers) and self.avg_latency_ms is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with exactly this dataclass's fields."""
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        """One JSON object with exactly this dataclass's fields."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)
