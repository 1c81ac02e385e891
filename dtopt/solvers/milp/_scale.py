"""Scaling a mean-latency objective for the solver's absolute tolerances (one rule for every
exact model that goes through a general MILP solver)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["objective_scale"]

# Bounds on the scaled objective's coefficients.
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
