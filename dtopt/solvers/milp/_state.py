"""What a solve knows so far: the best placement any step found and the best bound any proved."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from dtopt.placement.evaluate import score
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers.milp._deadline import Deadline

__all__ = ["OPTIMALITY_TOLERANCE", "Search"]

# A placement counts as proven optimal when its relative gap to the bound is below this.
OPTIMALITY_TOLERANCE = 1e-9


@dataclass(eq=False)
class Search:
    """The incumbent (``servers``, mean latency ``upper_ms``) and the lower bound ``lower_ms``.

    ``progress``: print one line per step to stderr (on a terminal only).
    """

    problem: PlacementProblem
    deadline: Deadline
    progress: bool = False
    servers: NDArray[np.intp] | None = None
    upper_ms: float = np.inf
    lower_ms: float = -np.inf
    steps: list[str] = field(default_factory=list)

    def offer(self, servers: NDArray[np.intp] | None) -> bool:
        """Keep ``servers`` if it is feasible and better than the incumbent; whether it was kept."""
        if servers is None or len(servers) != self.problem.k:
            return False
        ev = score(self.problem, servers)
        if not ev.feasible or ev.avg_latency_ms >= self.upper_ms:
            return False
        radius = self.problem.radius_ms  # p-center: only placements reaching the least worst latency
        if radius is not None and ev.max_latency_ms > radius:
            return False
        self.servers, self.upper_ms = np.sort(ev.servers), ev.avg_latency_ms
        return True

    def raise_bound(self, bound_ms: float | None) -> None:
        """Record a proven lower bound (ignored if ``None`` or not finite)."""
        if bound_ms is not None and np.isfinite(bound_ms):
            self.lower_ms = max(self.lower_ms, float(bound_ms))

    @property
    def gap(self) -> float:
        """Relative gap between incumbent and bound (inf without either)."""
        if not np.isfinite(self.upper_ms) or not np.isfinite(self.lower_ms):
            return np.inf
        return max(0.0, self.upper_ms - self.lower_ms) / self.upper_ms if self.upper_ms > 0 else 0.0

    def proven(self, mip_gap: float = 0.0) -> bool:
        """Whether the incumbent is within ``mip_gap`` (and rounding) of the bound."""
        return self.gap <= max(mip_gap, OPTIMALITY_TOLERANCE) or (
            np.isfinite(self.upper_ms) and self.upper_ms - self.lower_ms <= 1e-12
        )

    def note(self, step: str) -> None:
        """Record a finished step; shown on a terminal when ``progress``."""
        line = (
            f"milp {self.deadline.elapsed_s():7.2f} s  {step:<28} "
            f"best {self.upper_ms:.6g} ms  bound {self.lower_ms:.6g} ms"
        )
        self.steps.append(line)
        if self.progress:
            print(line, file=sys.stderr, flush=True)


# Bounds on the scaled objective's coefficients (see objective_scale).
_SMALLEST_COEFFICIENT = 1e-4
_LARGEST_COEFFICIENT = 1e6


def objective_scale(coefs: NDArray[np.float64]) -> float:
    """Factor on the mean-latency objective so its smallest positive coefficient is at least
    ``_SMALLEST_COEFFICIENT`` (while the largest stays below ``_LARGEST_COEFFICIENT``).

    Solvers compare reduced costs with absolute tolerances (HiGHS: 1e-7); the backup
    levels' weights ``q^r`` make coefficients far below that (Forthnet, q = 0.05, k = 5:
    1e-7), and their assignments then come back up to 1e-6 relative from optimal.
    """
    positive = coefs[coefs > 0]
    if positive.size == 0:
        return 1.0
    wanted = _SMALLEST_COEFFICIENT / float(positive.min())
    return float(np.clip(wanted, 1.0, max(1.0, _LARGEST_COEFFICIENT / float(positive.max()))))
