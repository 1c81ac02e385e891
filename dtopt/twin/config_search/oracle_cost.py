"""The round oracle as the configuration search's cost function.

:func:`oracle_evaluator` turns a :class:`~dtopt.twin.oracle.RoundOracle` and the
twin's estimate of the chain's state into an
:data:`~dtopt.twin.config_search.search.Evaluate` for
:meth:`ConfigurationDecider.decide`: a batch of configurations and a replica
count in, per-replica ``(latency_s, throughput_tps)`` samples out, from one
:meth:`RoundOracle.sample` call per state (one round loop per protocol in the
batch).

Randomness: call ``k`` of an evaluator samples with the seed derived from
``(seed, k)``, so every call draws fresh replicas (more replicas add
information) while a whole decision is reproducible for a given ``seed``.
Within a call every configuration sees the same random numbers (common random
numbers, see :mod:`dtopt.twin.draws`), which sharpens the comparisons the
search makes.

Several states (the twin's forecast scenarios, with weights): each state is
sampled with the same per-call seed, and replica ``r``'s sample is the weighted
mean over the states of their replica-``r`` samples. Its mean over replicas is
the weighted mean of the states' predictions, the expected cost under the
forecast, with less noise than a mixture (which would spend each replica on one
state).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.config import ChainConfig
from dtopt.consensus.limits import check_seed
from dtopt.errors import DtoptError
from dtopt.twin.config_search.chain_configs import chain_config
from dtopt.twin.config_search.search import Evaluate
from dtopt.twin.config_search.space import ConfigurationBatch
from dtopt.twin.oracle import OracleState, RoundOracle

__all__ = ["CRITERIA", "oracle_evaluator"]

#: What the latency samples are: ``"wait"``, each replica's waiting time per transaction
#: inside the horizon (charges a configuration for what it leaves in the pool; robust on
#: short horizons), or ``"latency"``, the mean latency of the transactions it committed.
CRITERIA: Final = ("wait", "latency")


def _weighted_states(
    state: OracleState | Sequence[tuple[OracleState, float]],
) -> list[tuple[OracleState, float]]:
    """``state`` as (state, weight) pairs with weights summing to 1."""
    if isinstance(state, OracleState):
        return [(state, 1.0)]
    try:
        pairs = [(s, float(w)) for s, w in state]
    except (TypeError, ValueError):
        raise DtoptError("state must be an OracleState or a list of (OracleState, weight) pairs") from None
    if not pairs or not all(isinstance(s, OracleState) for s, _ in pairs):
        raise DtoptError("state must be an OracleState or a non-empty list of (OracleState, weight) pairs")
    weights = np.array([w for _, w in pairs])
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise DtoptError("state weights must be finite, >= 0 and not all 0")
    return [(s, w / weights.sum()) for (s, _), w in zip(pairs, weights, strict=True)]


def oracle_evaluator(
    oracle: RoundOracle,
    state: OracleState | Sequence[tuple[OracleState, float]],
    horizon_s: float,
    base: ChainConfig,
    criterion: str = "wait",
    seed: int = 0,
) -> Evaluate:
    """The cost function ``evaluate(batch, replicas) -> (latency_s, throughput_tps)``.

    Parameters
    ----------
    oracle : the round oracle of the chain (its validators).
    state : the estimated state, or weighted states (weights need not sum to 1).
    horizon_s : simulated window per sample (s), e.g. the twin's interval.
    base : the configuration whose other fields every configuration keeps
        (:func:`~dtopt.twin.config_search.chain_configs.chain_config`).
    criterion : ``"wait"`` or ``"latency"`` (see :data:`CRITERIA`).
    seed : seed of the whole sequence of calls.

    Returns arrays of shape ``(len(batch), replicas)``, finite and >= 0.
    """
    states = _weighted_states(state)
    if criterion not in CRITERIA:
        raise DtoptError(f"criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    if not isinstance(oracle, RoundOracle):
        raise DtoptError(f"oracle must be a RoundOracle, got {type(oracle).__name__}")
    seed = check_seed(seed)
    key = "wait_s" if criterion == "wait" else "tx_latency_s"
    calls = [0]

    def evaluate(batch: ConfigurationBatch, replicas: int) -> tuple[NDArray, NDArray]:
        chosen = [chain_config(configuration, base) for configuration in batch]
        call_seed = int(np.random.SeedSequence([seed, calls[0]]).generate_state(1, np.uint64)[0] >> 1)
        calls[0] += 1
        latency = np.zeros((len(batch), replicas))
        throughput = np.zeros((len(batch), replicas))
        for st, weight in states:
            samples = oracle.sample(st, chosen, horizon_s, replicas, seed=call_seed)
            latency += weight * getattr(samples, key)
            throughput += weight * samples.throughput_tps
        return latency, throughput

    return evaluate

