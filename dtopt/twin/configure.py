"""The configuration twin's decide step: what is in force, what to change, and the cost function.

* :func:`configuration_in_force` reads the configuration in force for the next height from the
  chain's public blocks: the last block's own configuration with the change it
  carries applied (a change takes effect from the height after its block);
* :func:`changes` is what :meth:`Chain.request_config` must be asked to move one
  configuration to another;
* :func:`oracle_sampler` is the cost function of
  :meth:`~dtopt.twin.config_search.ConfigurationDecider.decide`: per-replica
  samples of the round oracle for every configuration of a batch, over the
  twin's (possibly weighted) what-if states;
* :func:`round_fits` guards it: the round oracle lets a round with an online
  proposer run as long as it takes, while on the chain a round that has not
  committed within the round timeout changes round. With a full block that
  cannot reach the validators within the timeout every round changes and the
  chain commits nothing again (a livelock: large blocks, low bandwidth, short
  timeout). A configuration whose full-block round does not fit the timeout for
  some online proposer of a state is predicted to commit nothing in that state.

Units: seconds, MB, transactions per second.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.config import ChainConfig
from dtopt.consensus.protocols import MessageKind, quorum_size
from dtopt.consensus.timers import MAX_ROUND_TIMER_DOUBLINGS
from dtopt.consensus.view import BlockRecord
from dtopt.errors import DtoptError
from dtopt.twin.config_search import Configuration, ConfigurationBatch, Evaluate
from dtopt.twin.config_search.oracle_cost import CRITERIA, oracle_evaluator
from dtopt.twin.oracle import OracleState, RoundOracle

__all__ = [
    "CRITERIA", "FIELDS", "changes", "configuration_in_force", "configuration_of",
    "oracle_sampler", "round_fits",
]

# Configuration field -> the chain configuration's (and request_config's) name for it.
FIELDS = {name: ChainConfig.SWITCH_ALIASES.get(name, name) for name in Configuration.__dataclass_fields__}


def _fields(timer: bool) -> dict[str, str]:
    return FIELDS if timer else {mine: theirs for mine, theirs in FIELDS.items() if mine != "round_timer"}


def configuration_of(config: ChainConfig | BlockRecord, *, timer: bool = False) -> Configuration:
    """The tunable fields of a chain configuration, or of the one a block was proposed under;
    the round timer too with ``timer`` (a space that tunes it), else ``None`` (not tuned)."""
    return Configuration(**{mine: getattr(config, theirs) for mine, theirs in _fields(timer).items()})


def configuration_in_force(block: BlockRecord, *, timer: bool = False) -> Configuration:
    """The configuration for the height after ``block``: its own, with the change it carries
    (the round timer as in :func:`configuration_of`)."""
    fields = _fields(timer)
    own = {mine: getattr(block, theirs) for mine, theirs in fields.items()}
    carried = dict(block.change or {})
    if block.switch_to is not None:
        carried.setdefault("protocol", block.switch_to)
    own.update({mine: carried[theirs] for mine, theirs in fields.items() if theirs in carried})
    return Configuration(**own)


def changes(current: Configuration, wanted: Configuration) -> dict[str, Any]:
    """The ``request_config`` keyword arguments that turn ``current`` into ``wanted`` (a field
    ``wanted`` leaves unset, ``None``, is not changed)."""
    return {
        theirs: getattr(wanted, mine)
        for mine, theirs in FIELDS.items()
        if getattr(wanted, mine) is not None and getattr(wanted, mine) != getattr(current, mine)
    }


def _idle(state: OracleState, horizon_s: float, criterion: str) -> float:
    """The latency sample of a horizon in which nothing commits, as the oracle reports it: the
    wait per transaction present (the backlog waits the horizon, each arrival from its
    arrival on), or for ``"latency"`` the oracle's stand-in (horizon plus backlog age)."""
    if criterion == "latency":
        return horizon_s + (state.backlog_age_s if state.backlog_tx > 0 else 0.0)
    present = state.backlog_tx + state.tx_rate_per_s * horizon_s
    waited = state.backlog_tx * horizon_s + state.tx_rate_per_s * horizon_s**2 / 2.0
    return waited / present if present > 0 else 0.0


def oracle_sampler(
    oracle: RoundOracle,
    states: Sequence[tuple[OracleState, float]],
    horizon_s: float,
    base: ChainConfig,
    criterion: str = "wait",
    seed: int = 0,
) -> Evaluate:
    """The round oracle as a :class:`ConfigurationDecider` cost function, livelocks included.

    :func:`~dtopt.twin.config_search.oracle_cost.oracle_evaluator` per state (all on
    the same per-call seeds, so replica ``r`` of every state shares its random
    numbers), with every configuration that :func:`round_fits` refuses for a state
    predicted to commit nothing in it; replica ``r``'s sample is the weighted mean
    over the states (weights normalised to sum 1). Returns ``evaluate(batch,
    replicas) -> (latency_s, throughput_tps)``, each of shape ``(len(batch), replicas)``.
    """
    weights = np.array([w for _, w in states], dtype=float)
    if weights.size == 0 or not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise DtoptError("the cost function needs at least one state with finite weights >= 0, not all 0")
    weights /= weights.sum()
    only = [s for s, _ in states]
    each = [oracle_evaluator(oracle, s, horizon_s, base, criterion, seed) for s in only]
    idle = [_idle(s, horizon_s, criterion) for s in only]

    def evaluate(batch: ConfigurationBatch, replicas: int) -> tuple[NDArray, NDArray]:
        fits = round_fits(base, only, batch)  # (B, S)
        latency = np.zeros((len(batch), replicas))
        throughput = np.zeros((len(batch), replicas))
        for k, evaluate_state in enumerate(each):
            lat, thr = evaluate_state(batch, replicas)
            ok = fits[:, k, None]
            latency += weights[k] * np.where(ok, lat, idle[k])
            throughput += weights[k] * np.where(ok, thr, 0.0)
        return latency, throughput

    return evaluate


def round_fits(
    base: ChainConfig, states: Sequence[OracleState], batch: ConfigurationBatch
) -> NDArray[np.bool_]:
    """Whether a full block's round commits within the round timeout, shape ``(len(batch), S)``.

    For every state and every online proposer: the block's creation, then the
    PRE-PREPARE of a full block reaching a quorum, a PREPARE and a COMMIT quorum
    (each the quorum-th fastest of the messages, mean jitter added; message delays
    by the chain's own rule, :meth:`ChainConfig.message_delay_s`), against the
    configuration's longest round timer (the round timeout under the fixed timer,
    its capped doubling under the doubling timer, :meth:`ChainConfig.round_timer_s`).
    A configuration fits a state when every online proposer's round fits; a state
    without a quorum online fits nothing.
    """
    n = base.n_validators
    q = quorum_size(n)
    prop = base.validator_propagation_s
    block_mb = base.block_size_mb(np.floor(batch.max_block_size_mb / base.tx_size_mb + 1e-9))  # (B,)
    # the longest a round may wait, per configuration: its timeout times its timer's capped factor
    factors = [base.replace(round_timer=timer or base.round_timer)
               .round_timer_factor(MAX_ROUND_TIMER_DOUBLINGS) for timer in batch.round_timers]
    timer_index = np.zeros(len(batch), dtype=np.int64) if batch.round_timer_index is None \
        else batch.round_timer_index
    longest_s = batch.round_timeout_s * np.array(factors)[timer_index]
    out = np.zeros((len(batch), len(states)), dtype=bool)
    for k, state in enumerate(states):
        online = state.online
        if online.sum() < q:
            continue
        bw = state.bandwidth_mbps
        # [proposer or sender, receiver]; offline receivers never answer
        vote = base.message_delay_s(MessageKind.PREPARE, 0.0, bw[:, None], bw[None, :], prop) + state.jitter_s
        vote = np.where(online[:, None] & online[None, :], vote, np.inf)
        np.fill_diagonal(vote, 0.0)
        vote_quorum_s = np.sort(vote, axis=0)[q - 1][online].max()  # slowest node's quorum of votes
        pre = base.message_delay_s(
            MessageKind.PRE_PREPARE, block_mb[:, None, None], bw[None, :, None], bw[None, None, :], prop
        ) + state.jitter_s  # (B, proposer, receiver)
        pre = np.where(online[None, None, :], pre, np.inf)
        pre[:, np.arange(n), np.arange(n)] = 0.0
        pre_quorum_s = np.sort(pre, axis=2)[:, :, q - 1][:, online].max(axis=1)  # slowest online proposer
        round_s = base.costs.create_block_s + pre_quorum_s + 2.0 * vote_quorum_s
        out[:, k] = round_s < longest_s
    return out
