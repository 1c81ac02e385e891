"""Decide: pick the protocol with the lowest predicted latency, with optional hysteresis.

Given several what-if scenarios, the decider minimises the expected prediction
when it is told how likely each scenario is (e.g. a forecast of the next state),
and otherwise the worst case: each protocol is scored by its largest prediction
over the scenarios (a robust choice when nothing says which state comes next).

Two latency predictions can be ranked: ``"wait"`` (default), the waiting time per
transaction inside the horizon (Little's-law form, charges a protocol for the
backlog it leaves), or ``"latency"``, the mean latency of the transactions the
horizon commits (the chain's own metric, but myopic on a short horizon: a
protocol that commits fewer, fresher blocks can look better).
"""

from __future__ import annotations

import functools
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
    predicted_latency_s : predicted mean transaction latency per protocol (s); over
        several scenarios their expectation (with weights) or worst case.
    predicted_score_s : the ranked prediction per protocol (s), combined the same way.
    weighed : every scenario the decision weighed; just ``scenario`` normally.
    weights : their probabilities if the decision took the expectation, else empty.
    """

    protocol: str
    switch: bool
    scenario: str
    predicted_latency_s: dict[str, float]
    predicted_score_s: dict[str, float]
    weighed: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()


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

    def decide(
        self,
        plan: Plan,
        current: str,
        scenario: str | Sequence[str],
        weights: Sequence[float] | None = None,
    ) -> Decision:
        """Choose for ``scenario`` of ``plan`` given the protocol ``current`` in force.

        Several scenarios are weighed by their worst case, or, with ``weights``
        (their probabilities, one per scenario), by the expected prediction.
        """
        names = (scenario,) if isinstance(scenario, str) else tuple(scenario)
        if not names:
            raise DtoptError("need at least one scenario to decide on")
        if weights is not None:
            w = np.asarray(weights, dtype=float)
            if w.shape != (len(names),) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
                raise DtoptError(f"weights must be {len(names)} finite numbers >= 0 with a positive sum")
            w = w / w.sum()
            combine = functools.partial(_expected, weights=w)
        else:
            combine = _worst
        score = combine([plan.metric(name, _CRITERIA[self.criterion]) for name in names])
        best = min(score, key=lambda name: (score[name], name != current))
        keep = current in score and not score[best] < (1.0 - self.hysteresis) * score[current]
        chosen = current if keep else best
        return Decision(
            protocol=chosen,
            switch=chosen != current,
            scenario=names[0],
            predicted_latency_s=combine([plan.metric(name) for name in names]),
            predicted_score_s=score,
            weighed=names,
            weights=() if weights is None else tuple(float(x) for x in w),
        )


def _worst(per_scenario: list[dict[str, float]]) -> dict[str, float]:
    """Per protocol, the largest value over the scenarios."""
    return {p: max(values[p] for values in per_scenario) for p in per_scenario[0]}


def _expected(per_scenario: list[dict[str, float]], weights: np.ndarray) -> dict[str, float]:
    """Per protocol, the probability-weighted mean over the scenarios."""
    return {p: float(np.dot(weights, [values[p] for values in per_scenario])) for p in per_scenario[0]}
