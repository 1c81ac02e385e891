"""The result every placement method returns."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["STATUSES", "PlacementResult", "Status"]

Status = Literal["optimal", "feasible", "time_limit", "infeasible", "no_solution_found"]
STATUSES: tuple[Status, ...] = ("optimal", "feasible", "time_limit", "infeasible", "no_solution_found")


@dataclass(frozen=True)
class PlacementResult:
    """A placement found by one method, with its quality and cost.

    Attributes
    ----------
    method : the method's name (``"eopa"``, ``"milp"``, ``"isapa"``...).
    status : ``"optimal"`` (proven), ``"feasible"`` (a heuristic's answer, or an
        exact method stopped at a gap), ``"time_limit"`` (stopped by the time limit),
        ``"infeasible"`` (an exact method proved that no placement of k servers
        meets eps_max), or ``"no_solution_found"`` (a heuristic found no placement
        meeting eps_max; it proves nothing, and ``reason`` says whether one exists).
    servers : names of the server nodes, in node order; empty when none was found.
    assignment : node name -> name of the server it uses; empty when none was found.
    avg_latency_ms : mean latency from a node to its server (ms), or ``None``.
    max_latency_ms : largest such latency (ms), or ``None``.
    avg_error : mean twin error over nodes, or ``None``.
    max_error : largest twin error, or ``None``.
    bound : proven lower bound on the optimal ``avg_latency_ms`` (ms), or ``None``.
    gap : ``(avg_latency_ms - bound) / avg_latency_ms`` for exact methods; for a
        heuristic given the optimum (``optimum_ms=``), its relative excess over it.
    runtime_s : wall-clock time of the solve, model building included (s).
    options : the method's options as used, defaults filled in.
    reason : why there is no (optimal) answer, in one line; ``None`` otherwise.
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
