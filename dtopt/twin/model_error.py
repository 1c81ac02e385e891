"""How far the twin's own predictions have been from what the chain then did.

The oracle's predictions carry errors that no replica shows: the state is an
estimate, the model leaves out what the chain does between rounds, and a
regime may change inside the horizon. The twin therefore keeps score: every
interval it compares the waiting time it predicted for the configuration it
chose with the waiting time the chain then measured in the next interval
(:attr:`~dtopt.twin.monitor.IntervalData.wait_s`), and a change away from the
home configuration must promise more than the recent relative error
(:class:`~dtopt.twin.config_search.ConfigurationDecider`'s ``model_error``). Where
the model has been reliable the twin acts on small predicted gains; where it has
not, it holds the configuration known to be good.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from dtopt._validate import check_int
from dtopt.errors import DtoptError

__all__ = ["ModelError"]


@dataclass
class ModelError:
    """A high quantile of the relative prediction errors of the last ``window`` intervals.

    Parameters
    ----------
    window : how many recent intervals count (>= 1).
    prior : the error assumed, in [0, 1], until ``trusted_after`` comparisons have been made:
        a model not yet compared with the chain has not earned trust, and a departure
        taken on its word in the first intervals can cost a whole regime.
    trusted_after : comparisons needed before the measured errors replace ``prior`` (>= 0).
    quantile : which quantile of their errors is the twin's error, in [0, 1]. The default,
        0.9, is near the largest of the last eight: a model's errors come in bursts (a
        regime change it did not see coming, a stall it did not foresee), and a departure
        from a configuration known to be good should survive the bad intervals, not the
        typical one.
    """

    window: int = 8
    quantile: float = 0.9
    prior: float = 0.5
    trusted_after: int = 4
    errors: deque[float] = field(default_factory=deque)
    expected_s: float | None = None  # the prediction awaiting its interval
    compared: int = field(default=0, init=False)  # comparisons made, beyond the window too

    def __post_init__(self) -> None:
        self.window = check_int("window", self.window, minimum=1)
        for name in ("quantile", "prior"):
            if not 0.0 <= getattr(self, name) <= 1.0:  # NaN fails too
                raise DtoptError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        self.trusted_after = check_int("trusted_after", self.trusted_after, minimum=0)

    def expect(self, predicted_s: float | None) -> None:
        """The waiting time (s) predicted for the interval that starts now (``None``: none)."""
        self.expected_s = predicted_s if predicted_s is not None and np.isfinite(predicted_s) else None

    def observe(self, measured_s: float) -> None:
        """The waiting time (s) the chain measured in the interval just ended."""
        if self.expected_s is not None and np.isfinite(measured_s):
            scale = max(self.expected_s, measured_s, 1e-9)
            self.errors.append(abs(measured_s - self.expected_s) / scale)
            self.compared += 1
            while len(self.errors) > self.window:
                self.errors.popleft()
        self.expected_s = None

    def measured(self) -> float:
        """The quantile of the recent relative errors, in [0, 1] (0 before any comparison)."""
        return float(np.quantile(np.array(self.errors), self.quantile)) if self.errors else 0.0

    def value(self) -> float:
        """The twin's error, in [0, 1]: :meth:`measured`, or ``prior`` before ``trusted_after``
        comparisons."""
        return self.prior if self.compared < self.trusted_after else self.measured()
