"""Decide: pick the protocol with the lowest predicted latency, with optional hysteresis.

Given several what-if scenarios, the decider minimises the worst case: each
protocol is scored by its largest prediction over the scenarios (robust choice
when the chain's next state is uncertain, e.g. at a predicted change point).

Two latency predictions can be ranked: ``"wait"`` (default), the waiting time per
transaction inside the horizon (Little's-law form, charges a protocol for the
backlog it leaves), or ``"latency"``, the mean latency of the transactions the
horizon commits (the chain's own metric, but myopic on a short horizon: a
protocol that commits fewer, fresher blocks can look better).
"""

from __future__ import annotations

from collections.abc import Sequence
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
    scenario : the what-if scenario the decision was taken on (the first one if several).
    predicted_latency_s : predicted mean transaction latency per protocol (s); the
        worst case over ``worst_of``.
    predicted_score_s : the ranked prediction per protocol (s); the worst case over ``worst_of``.
    worst_of : every scenario the decision weighed (worst case); just ``scenario`` normally.
    """

    protocol: str
    switch: bool
    scenario: str
    predicted_latency_s: dict[str, float]
    predicted_score_s: dict[str, float]
    worst_of: tuple[str, ...] = ()


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

    def decide(self, plan: Plan, current: str, scenario: str | Sequence[str]) -> Decision:
        """Choose for ``scenario`` of ``plan`` (or the worst case over several) given
        the protocol ``current`` in force."""
        names = (scenario,) if isinstance(scenario, str) else tuple(scenario)
        if not names:
            raise DtoptError("need at least one scenario to decide on")
        score = _worst([plan.metric(name, _CRITERIA[self.criterion]) for name in names])
        best = min(score, key=lambda name: (score[name], name != current))
        keep = current in score and not score[best] < (1.0 - self.hysteresis) * score[current]
        chosen = current if keep else best
        return Decision(
            protocol=chosen,
            switch=chosen != current,
            scenario=names[0],
            predicted_latency_s=_worst([plan.metric(name) for name in names]),
            predicted_score_s=score,
            worst_of=names,
        )


def _worst(per_scenario: list[dict[str, float]]) -> dict[str, float]:
    """Per protocol, the largest value over the scenarios."""
    return {p: max(values[p] for values in per_scenario) for p in per_scenario[0]}
