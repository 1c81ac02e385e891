"""The oracle's DPoS loop: the slot schedule, vectorised over replicas.

Under DPoS the chain has no rounds: the delegates elected for each epoch take
the slots in turn (:mod:`dtopt.consensus.delegates`), an online delegate
produces one block at its slot's start (sent after the block's creation time),
an offline delegate's slot stays empty, and a block is final when the block of
the :meth:`~dtopt.consensus.protocols.ProtocolRules.confirmation_quorum`-th
distinct delegate on top of it is sent. Given which validators are online, the
schedule and every block's finality time are the same in every replica, so
:class:`DposLoop` computes them once per state; the replicas (and
configurations, as :class:`~dtopt.consensus.columns.ConfigColumns`) differ only
in the transactions each block takes, a pool advanced block by block over
``(B,)`` arrays exactly as the BFT loop does (:class:`~dtopt.twin.rounds.RoundLoop`).

The transactions waiting at the horizon's start (``backlog_tx``, the oldest
``backlog_age_s`` old) are not yet final. While DPoS is in force (the state's
``in_force``, or unknown) most already sit in tentative blocks: the loop replays
the slots since the oldest of them arrived (spread evenly over its age), so
their blocks become final when the schedule says. Coming from a BFT protocol
they are all in the pool at the horizon's start, as for the BFT loop.

Assumed, as DPoS itself assumes: a block reaches the next delegates within a
slot (the chain forks when it does not; the oracle does not model forks).

Units: seconds, transactions; times relative to the horizon's start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.columns import ConfigColumns
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.delegates import (
    confirmation_quorum,
    first_slot_at,
    irreversible_index,
    slot_producer,
    slot_start_s,
)
from dtopt.twin.draws import CommonDraws, SequentialDraws
from dtopt.twin.rounds import RoundLoop

__all__ = ["DposLoop", "dpos_schedule"]


def dpos_schedule(config: ChainConfig, online: NDArray[np.bool_], now_s: float, start_s: float,
                  horizon_s: float) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """The blocks produced from ``start_s`` on (relative to ``now_s``) and when each is final.

    Returns the send times of the blocks whose slots start in ``[start_s, horizon_s)``,
    their finality times (``inf`` if the delegates online never confirm them; the
    schedule is followed far enough past the horizon to tell) and the number of slots
    in that window.
    """
    quorum = confirmation_quorum(config)
    first = first_slot_at(config, now_s + start_s)
    last = first_slot_at(config, now_s + horizon_s)  # slots before it start inside the window
    # a block of the last slot is final within (quorum) turns of the delegates, if at all
    beyond = last + (quorum + 1) * config.n_delegates + 1
    slots = np.arange(first, beyond)
    producers = np.array([slot_producer(config, int(k)) for k in slots], dtype=np.int64)
    produced = online[producers]
    sent = config.proposal_sent_s(slot_start_s(config, slots[produced])) - now_s
    who = producers[produced].tolist()
    in_window = int(np.searchsorted(slots[produced], last))
    final = np.full(in_window, np.inf)
    for j in range(in_window):
        count = irreversible_index(who[j + 1:], quorum)
        if count is not None:
            final[j] = sent[j + count]
    return sent[:in_window], final, int(last - first)


class DposLoop:
    """DPoS over ``replicas`` replicas of each state (see the module docstring); the same
    interface as :class:`~dtopt.twin.rounds.RoundLoop` (``step``, ``finish``)."""

    account = RoundLoop.account
    finish = RoundLoop.finish

    def __init__(self, config: ChainConfig | ConfigColumns, states: Sequence[Any], replicas: int,
                 draws: np.random.Generator | SequentialDraws | CommonDraws, select: Any,
                 horizon_s: float) -> None:
        self.config, self.states, self.horizon_s = config, list(states), horizon_s
        self.draws = SequentialDraws(draws) if isinstance(draws, np.random.Generator) else draws
        self.base = config.base if isinstance(config, ConfigColumns) else config
        copies = config.configurations if isinstance(config, ConfigColumns) else 1
        self.reps = replicas
        self.stream = np.repeat(np.arange(len(self.states) * replicas), copies)
        self.scen = self.stream // replicas
        self.rate = np.array([s.tx_rate_per_s for s in self.states])[self.scen]
        self.acc = {key: np.zeros(self.scen.size) for key in ("blocks", "tx", "latency_sum", "served_s",
                                                               "last_commit", "rounds")}
        self.done = False

    def step(self) -> bool:
        """Simulate every state's whole horizon at the first call; False afterwards."""
        if self.done:
            return False
        self.done = True
        for s, state in enumerate(self.states):
            self._simulate_state(s, state)
        return True

    def _simulate_state(self, s: int, state: Any) -> None:
        columns = np.flatnonzero(self.scen == s)
        b, width = columns.size, self.scen.size
        backlog = float(state.backlog_tx)
        age = float(state.backlog_age_s) if backlog > 0 else 0.0
        cursor = np.full(width, -age)
        pool = np.zeros(width)
        if state.in_force not in (None, self.base.protocol):  # no tentative blocks: all pooled
            pool[columns], age = backlog, 0.0
        sent, final, n_slots = dpos_schedule(self.base, state.online, state.now_s, -age, self.horizon_s)
        self.acc["rounds"][columns] += n_slots
        arrived_until = -age
        rate, stream = self.rate[columns], self.stream[columns]
        create_s = self.base.costs.create_block_s
        for t_sent, t_final in zip(sent.tolist(), final.tolist(), strict=True):
            t = min(t_sent - create_s, self.horizon_s)  # the block takes what arrived by its slot's start
            if t > arrived_until:
                if age > 0:  # the backlog, spread evenly over its age
                    pool[columns] += backlog * max(min(t, 0.0) - arrived_until, 0.0) / age
                since = max(arrived_until, 0.0)
                if t > since:
                    pool[columns] += self.draws.arrivals(rate, stream, np.full(b, since),
                                                         np.full(b, t - since))
                arrived_until = t
            taken = np.zeros(width)
            taken[columns] = self.config.block_tx(pool)[columns]
            share = np.divide(taken, pool, out=np.zeros(width), where=pool > 0)
            span = arrived_until - cursor
            if np.isfinite(t_final):  # else the block is never final: its transactions stay waiting
                committed = np.zeros(width, dtype=bool)
                committed[columns] = True
                # a replayed block that the schedule makes final before now counts now
                self.account(committed, np.full(width, max(t_final, 0.0)), taken, cursor + span * share / 2.0)
            pool -= taken
            cursor = cursor + span * share
