"""Plan: the oracle's predictions for every what-if scenario under every protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from dtopt.errors import DtoptError
from dtopt.twin.oracle import OraclePrediction, OracleState, RoundOracle
from dtopt.twin.scenarios import WhatIf

__all__ = ["Plan", "make_plan"]


@dataclass(frozen=True)
class Plan:
    """Predictions indexed by ``(scenario name, protocol)``.

    Attributes
    ----------
    scenarios : scenario names, in generator order.
    protocols : protocols simulated.
    predictions : ``{(scenario, protocol): OraclePrediction}``.
    states : the oracle input of each scenario.
    """

    scenarios: tuple[str, ...]
    protocols: tuple[str, ...]
    predictions: dict[tuple[str, str], OraclePrediction]
    states: dict[str, OracleState]

    def state(self, scenario: str) -> OracleState:
        """The oracle input of ``scenario``."""
        if scenario not in self.states:
            raise DtoptError(f"unknown scenario {scenario!r}; the plan has {', '.join(self.scenarios)}")
        return self.states[scenario]

    def metric(self, scenario: str, name: str = "mean_tx_latency_s") -> dict[str, float]:
        """One prediction field (e.g. ``mean_tx_latency_s``) of each protocol in ``scenario``."""
        if scenario not in self.scenarios:
            raise DtoptError(f"unknown scenario {scenario!r}; the plan has {', '.join(self.scenarios)}")
        return {p: float(getattr(self.predictions[(scenario, p)], name)) for p in self.protocols}


def make_plan(
    oracle: RoundOracle, scenarios: Sequence[WhatIf], protocols: Sequence[str], horizon_s: float
) -> Plan:
    """Run ``oracle`` over all ``scenarios`` (one batched call per protocol).

    Scenarios with identical states (e.g. a forecast that equals the estimate) are
    simulated once and share the prediction.
    """
    if not protocols:
        raise DtoptError("need at least one protocol to plan with")
    names = tuple(s.name for s in scenarios)
    keys = [_state_key(s.state) for s in scenarios]
    unique = {key: s.state for key, s in zip(keys, scenarios, strict=True)}
    predictions: dict[tuple[str, str], OraclePrediction] = {}
    for protocol in protocols:
        results = oracle.predict_many(list(unique.values()), protocol, horizon_s)
        by_key = dict(zip(unique, results, strict=True))
        predictions.update({(name, protocol): by_key[key] for name, key in zip(names, keys, strict=True)})
    states = {s.name: s.state for s in scenarios}
    return Plan(scenarios=names, protocols=tuple(protocols), predictions=predictions, states=states)


def _state_key(state: OracleState) -> tuple[object, ...]:
    """Hashable value of every field of ``state`` (arrays by content)."""
    values = (getattr(state, f.name) for f in fields(state))
    return tuple(v.tobytes() if isinstance(v, np.ndarray) else v for v in values)
