"""Decide: pick the protocol with the lowest predicted latency, with optional hysteresis.

Two latency predictions can be ranked: ``"wait"`` (default), the waiting time per
transaction inside the horizon (Little's-law form, charges a protocol for the
backlog it leaves), or ``"latency"``, the mean latency of the transactions the
horizon commits (the chain's own metric, but myopic on a short horizon: a
protocol that commits fewer, fresher blocks can look better).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtopt.errors import DtoptError
from dtopt.twin.plan import Plan

__all__ = ["Decider", "Decision"]

_CRITERIA = {"wait": "mean_wait_s", "latency": "mean_tx_latency_s"}


@dataclass(frozen=True)
class Decision:
    """The protocol to run next.

    Attributes
    ----------
    protocol : chosen protocol.
    switch : whether it differs from the protocol in force.
    scenario : the what-if scenario the decision was taken on.
    predicted_latency_s : predicted mean transaction latency per protocol (s).
    predicted_score_s : the ranked prediction per protocol (s).
    """

    protocol: str
    switch: bool
    scenario: str
    predicted_latency_s: dict[str, float]
    predicted_score_s: dict[str, float]


class Decider:
    """Argmin of predicted mean latency.

    Parameters
    ----------
    hysteresis : relative margin in [0, 1): switch away from the protocol in force
        only if the best one is predicted at least this fraction faster
        (0 = plain argmin).
    criterion : ``"wait"`` or ``"latency"`` (see the module docstring).
    """

    def __init__(self, hysteresis: float = 0.0, criterion: str = "wait") -> None:
        if not np.isfinite(hysteresis) or not 0.0 <= hysteresis < 1.0:
            raise DtoptError(f"hysteresis must be in [0, 1), got {hysteresis!r}")
        if criterion not in _CRITERIA:
            raise DtoptError(f"criterion must be one of {', '.join(_CRITERIA)}, got {criterion!r}")
        self.hysteresis = float(hysteresis)
        self.criterion = criterion

    def decide(self, plan: Plan, current: str, scenario: str) -> Decision:
        """Choose for ``scenario`` of ``plan`` given the protocol ``current`` in force."""
        score = plan.metric(scenario, _CRITERIA[self.criterion])
        best = min(score, key=lambda name: (score[name], name != current))
        keep = current in score and not score[best] < (1.0 - self.hysteresis) * score[current]
        chosen = current if keep else best
        return Decision(
            protocol=chosen,
            switch=chosen != current,
            scenario=scenario,
            predicted_latency_s=plan.metric(scenario),
            predicted_score_s=score,
        )
