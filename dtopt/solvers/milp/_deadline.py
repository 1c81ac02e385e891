"""One wall-clock deadline shared by every step of a solve."""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["Deadline"]

# HiGHS refuses a zero time limit; a step started at the deadline gets this (s) and stops at once.
_MINIMUM_S = 1e-3


@dataclass(frozen=True)
class Deadline:
    """``limit_s`` seconds (``None``: no limit) from ``start`` (a ``time.perf_counter`` reading)."""

    start: float
    limit_s: float | None

    @classmethod
    def after(cls, limit_s: float | None) -> Deadline:
        """A deadline ``limit_s`` seconds from now."""
        return cls(time.perf_counter(), None if limit_s is None else float(limit_s))

    def elapsed_s(self) -> float:
        """Seconds since the start."""
        return time.perf_counter() - self.start

    def remaining_s(self) -> float | None:
        """Seconds left (at least a millisecond, so a solver stops at once), or ``None``."""
        if self.limit_s is None:
            return None
        return max(self.limit_s - self.elapsed_s(), _MINIMUM_S)

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.limit_s is not None and self.elapsed_s() >= self.limit_s
