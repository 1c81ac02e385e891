"""Decide: pick the protocol with the lowest predicted latency, with optional hysteresis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtopt.errors import DtoptError
from dtopt.twin.plan import Plan

__all__ = ["Decider", "Decision"]


@dataclass(frozen=True)
class Decision:
    """The protocol to run next.

    Attributes
    ----------
    protocol : chosen protocol.
    switch : whether it differs from the protocol in force.
    scenario : the what-if scenario the decision was taken on.
    predicted_latency_s : predicted mean transaction latency per protocol (s).
    """

    protocol: str
    switch: bool
    scenario: str
    predicted_latency_s: dict[str, float]


class Decider:
    """Argmin of predicted mean latency.

    Parameters
    ----------
    hysteresis : relative margin in [0, 1): switch away from the protocol in force
        only if the best one is predicted at least this fraction faster
        (0 = plain argmin).
    """

    def __init__(self, hysteresis: float = 0.0) -> None:
        if not np.isfinite(hysteresis) or not 0.0 <= hysteresis < 1.0:
            raise DtoptError(f"hysteresis must be in [0, 1), got {hysteresis!r}")
        self.hysteresis = float(hysteresis)

    def decide(self, plan: Plan, current: str, scenario: str) -> Decision:
        """Choose for ``scenario`` of ``plan`` given the protocol ``current`` in force."""
        latency = plan.latency_s(scenario)
        best = min(latency, key=lambda name: (latency[name], name != current))
        keep = current in latency and not latency[best] < (1.0 - self.hysteresis) * latency[current]
        chosen = current if keep else best
        return Decision(
            protocol=chosen, switch=chosen != current, scenario=scenario, predicted_latency_s=latency
        )
