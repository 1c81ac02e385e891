"""What the hindsight baselines of the consensus benchmarks share.

How long transactions waited in an interval (from the outside view), the true
state of the chain's regime (hidden state, which only a baseline may read), and
how a baseline hands a configuration change to the producer the twin would ask.
Used by :mod:`benchmarks.consensus.runs`, :mod:`benchmarks.consensus.fidelity` and
:mod:`benchmarks.consensus.baselines`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.chain import Chain
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.scenario import Scenario
from dtopt.consensus.view import ChainView
from dtopt.twin import OracleState, choose_producer

__all__ = ["Backlog", "backlog_at", "interval_wait_s", "request_change", "true_state", "trusted_producer"]


@dataclass(frozen=True)
class Backlog:
    """The transactions not committed at a moment: ids from ``first_tx`` on, of which
    those that had arrived have arrival times ``arrival_s`` (s, ascending)."""

    first_tx: int
    arrival_s: NDArray[np.float64]


def backlog_at(chain: Chain, t_s: float) -> Backlog:
    """The pool at ``t_s``, from the outside view."""
    return _backlog(chain.view(0.0, t_s))


def _backlog(view: ChainView) -> Backlog:
    """The pool at the end of a view from the start (blocks carry the oldest transactions first)."""
    committed = sum(len(b.tx_ids) for b in view.blocks)
    return Backlog(first_tx=committed, arrival_s=view.tx_arrival_s[committed:])


def interval_wait_s(chain: Chain, start_s: float, end_s: float, backlog: Backlog | None = None) -> float:
    """Transaction-seconds spent uncommitted inside ``[start_s, end_s)`` per transaction present.

    Measured from the outside view: the backlog at ``start_s`` and the arrivals of
    the window wait until they are committed or the window ends (the chain-side
    counterpart of the oracle's ``mean_wait_s``). ``backlog``: :func:`backlog_at`
    ``start_s``, if already known (branches of one chain share it; reading only the
    window then keeps the cost independent of the run's length).
    """
    if backlog is None:
        backlog = backlog_at(chain, start_s)
    window = chain.view(start_s, end_s)
    arrival_s = np.concatenate([backlog.arrival_s, window.tx_arrival_s])
    commit_s = np.full(arrival_s.size, np.inf)
    for block in window.blocks:  # every transaction before the backlog was committed before start_s
        commit_s[block.tx_ids - backlog.first_tx] = block.committed_s
    waited = np.minimum(commit_s, end_s) - np.maximum(arrival_s, start_s)
    return float(waited.sum() / max(arrival_s.size, 1))


def true_state(chain: Chain, scenario: Scenario, t_s: float) -> OracleState:
    """The regime's hidden state plus the observable pool and round at ``t_s``."""
    regime = scenario.regime_at(t_s)
    view = chain.view(0.0, t_s)
    backlog = _backlog(view)
    last = view.blocks[-1] if view.blocks else None
    index = [scenario.nodes.index(p) for p in scenario.producers]
    return OracleState(
        online=np.array([p not in regime.offline for p in scenario.producers]),
        bandwidth_mbps=np.asarray(regime.bandwidth_mbps)[index],
        tx_rate_per_s=regime.tx_rate_per_s,
        jitter_s=regime.jitter_s,
        backlog_tx=backlog.arrival_s.size,
        backlog_age_s=float(t_s - backlog.arrival_s[0]) if backlog.arrival_s.size else 0.0,
        next_height=last.height + 1 if last else 0,
        round_elapsed_s=t_s - last.committed_s if last else 0.0,
        since_proposal_s=t_s - last.proposed_s if last else float("inf"),
        now_s=t_s,
        in_force=chain.protocol,
    )


def trusted_producer(chain: Chain, scenario: Scenario, t_s: float) -> str | None:
    """The producer the twin would ask to carry a change, chosen on the true state."""
    return choose_producer(true_state(chain, scenario, t_s), scenario.producers, scenario.producers)


def request_change(chain: Chain, scenario: Scenario, t_s: float, changes: Mapping[str, Any],
                   producer: str | None = None) -> None:
    """Hand ``changes`` (:meth:`Chain.request_config` keywords) to ``producer`` (default:
    :func:`trusted_producer`), unless the configuration in force already has them."""
    config = chain.config
    if all(getattr(config, ChainConfig.SWITCH_ALIASES.get(k, k)) == v for k, v in changes.items()):
        return
    producer = trusted_producer(chain, scenario, t_s) if producer is None else producer
    if producer is not None:
        chain.request_config(producer, **changes)
