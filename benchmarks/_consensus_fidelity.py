"""The oracle's fidelity in the consensus benchmark: for every regime, once steady, the
oracle's predicted mean latency against the latency the chain measures under each
static protocol, with the oracle fed the true regime state and the twin's estimate.

The windows (``votes``, ``steady``), the passive recorder of the twin's estimates on a
static run, the rows per seed and the report's lines on their errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks._hindsight import true_state
from dtopt.consensus.chain import Chain
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.metrics import chain_metrics
from dtopt.consensus.scenario import Scenario
from dtopt.twin import Analyser, Estimate, IntervalDataError, Monitor, RoundOracle

__all__ = [
    "SYNC_GRACE_S",
    "EstimateRecorder",
    "fidelity_lines",
    "fidelity_rows",
    "synced_settled_s",
    "votes_settled_s",
]

# A validator has caught up once it committed every block final this long ago (s).
SYNC_GRACE_S = 2.0


def regime_end_s(scenario: Scenario, k: int) -> float:
    """End of regime ``k`` (s): the next regime's start; the last one's after one state period."""
    regimes = scenario.regimes
    return regimes[k + 1].start_s if k + 1 < len(regimes) else regimes[k].start_s + scenario.state_period_s


def votes_settled_s(chain: Chain, scenario: Scenario, k: int) -> float:
    """First twin-interval boundary of regime ``k``, at least one interval in, after
    the first block that carries votes of every validator online in the regime (DPoS,
    whose blocks carry the confirmations of two thirds of the delegates: after every
    online delegate has produced or confirmed a block proposed in the regime)."""
    regime = scenario.regimes[k]
    online = {p for p in scenario.producers if p not in regime.offline}
    end_s = regime_end_s(scenario, k)
    blocks = chain.view(regime.start_s, end_s).blocks
    if blocks and blocks[0].protocol == "DPoS":
        delegates = {b.proposer for b in blocks}
        online &= delegates | {v.validator for b in blocks for v in b.votes}
    seen: set[str] = set()
    settle = end_s
    for b in blocks:
        if b.protocol == "DPoS":
            if b.proposed_s >= regime.start_s:
                seen |= {b.proposer} | {v.validator for v in b.votes}
        else:
            seen = {v.validator for v in b.votes}
        if online <= seen:
            settle = b.committed_s
            break
    interval_s = scenario.twin_interval_s
    return max(regime.start_s + interval_s, float(np.ceil(settle / interval_s) * interval_s))


def synced_settled_s(synced: dict[float, frozenset[str]], scenario: Scenario, k: int) -> float:
    """First twin-interval boundary of regime ``k``, at least one interval in, at which
    every validator online in the regime had caught up (``synced``: boundary -> the
    validators caught up then); the regime's end if none."""
    regime = scenario.regimes[k]
    online = {p for p in scenario.producers if p not in regime.offline}
    end_s = regime_end_s(scenario, k)
    boundaries = sorted(t for t in synced if regime.start_s + scenario.twin_interval_s <= t < end_s)
    return next((t for t in boundaries if online <= synced[t]), end_s)


@dataclass
class EstimateRecorder:
    """Passive twin front end on a static run: the estimate at every interval end,
    and (hidden state, for the measurement only) which validators had caught up."""

    params: ChainConfig
    estimates: dict[float, Estimate] = field(default_factory=dict)
    synced: dict[float, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.monitor = Monitor(self.params.validators)
        self.analyser = Analyser(self.params)

    def __call__(self, chain: Chain, t_s: float) -> None:
        final = sum(b.committed_s <= t_s - SYNC_GRACE_S for b in chain.view(0.0, t_s).blocks)
        self.synced[t_s] = frozenset(
            v for v in self.params.validators if len(chain.committed_chain(v)) >= final
        )
        try:
            self.estimates[t_s] = self.analyser.analyse(self.monitor.observe(chain, t_s))
        except IntervalDataError:
            pass


def fidelity_rows(
    scenario: Scenario,
    statics: dict[str, Any],
    recorders: dict[str, EstimateRecorder],
    seed: int,
    replicas: int,
) -> list[dict[str, Any]]:
    """Oracle vs chain, mean latency over each regime once steady, per static protocol and window."""
    params = scenario.config
    oracle = RoundOracle(params, replicas=replicas, seed=seed)
    out = []
    for k, regime in enumerate(scenario.regimes):
        for protocol, run in statics.items():
            end_s = min(regime_end_s(scenario, k), run.chain.now_s)
            votes_s = votes_settled_s(run.chain, scenario, k)
            synced_s = synced_settled_s(recorders[protocol].synced, scenario, k)
            starts = {"steady": max(votes_s, synced_s), "votes": votes_s}
            for window, start_s in starts.items():
                if end_s - start_s < scenario.twin_interval_s:
                    continue
                measured = chain_metrics(run.chain.view(start_s, end_s)).mean_tx_latency_s
                if measured is None:  # nothing committed in the window: no error to measure
                    continue
                estimate = recorders[protocol].estimates.get(start_s)
                truth = true_state(run.chain, scenario, start_s)
                predicted_true = oracle.predict(truth, protocol, end_s - start_s).mean_tx_latency_s
                predicted_est = (
                    oracle.predict(estimate.state, protocol, end_s - start_s).mean_tx_latency_s
                    if estimate is not None
                    else None
                )
                out.append(
                    {
                        "seed": seed,
                        "regime": k,
                        "offline": len(regime.offline),
                        "protocol": protocol,
                        "window": window,
                        "start_s": start_s,
                        "end_s": end_s,
                        "measured_s": measured,
                        "predicted_true_s": predicted_true,
                        "error_true": predicted_true / measured - 1.0,
                        "predicted_estimate_s": predicted_est,
                        "error_estimate": None if predicted_est is None else predicted_est / measured - 1.0,
                    }
                )
    return out


def _fidelity_line(key: str, sel: list[dict[str, Any]]) -> str:
    errors = np.abs([f[key] for f in sel if f[key] is not None and np.isfinite(f[key])])
    if not errors.size:
        return "n/a"
    q50, q90, q99 = np.quantile(errors, [0.5, 0.9, 0.99])
    return (
        f"|error| median {q50:.1%}, p90 {q90:.1%}, p99 {q99:.1%}, max {errors.max():.1%}; "
        f"within 10%: {np.sum(errors <= 0.10)}/{errors.size} = {np.mean(errors <= 0.10):.1%}"
    )


def fidelity_lines(fidelity: list[dict[str, Any]]) -> list[str]:
    """Distribution of the oracle's error per regime kind, estimate source and window."""
    lines = []
    for window in ("steady", "votes"):
        mine = [f for f in fidelity if f["window"] == window]
        groups = {
            "all-online regime 0": [f for f in mine if f["regime"] == 0],
            "all-online, later regimes": [f for f in mine if f["offline"] == 0 and f["regime"] > 0],
            "regimes with validators offline": [f for f in mine if f["offline"] > 0],
        }
        for key, source in (("error_true", "true state"), ("error_estimate", "twin estimate")):
            for group, sel in groups.items():
                lines.append(f"  window {window}, {source}, {group}: {_fidelity_line(key, sel)}")
    return lines
