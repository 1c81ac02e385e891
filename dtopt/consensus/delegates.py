"""DPoS's schedule and finality rule, stated once for the chain and the oracle.

Delegated proof of stake as the placement paper's ledger uses it (Wu et al.,
2024): validators hold stake (:attr:`ChainConfig.stake`, equal by default); at
the start of every epoch (:attr:`ChainConfig.epoch_slots` slots) the
:attr:`ChainConfig.n_delegates` validators with the most stake are elected
(ties broken by a permutation drawn from the epoch number, so equal stakes
rotate the delegate set when there are fewer delegates than validators); the
delegates take the slots of the epoch in turn (slot ``k`` goes to delegate
``k mod N``, in validator order), one block per slot of
:attr:`ChainConfig.slot_s`; and a block is final once
:meth:`ProtocolRules.confirmation_quorum` distinct delegates, more than two
thirds of them, have produced on top of it (the last-irreversible-block rule).

The message-level chain (:mod:`dtopt.consensus.dpos`) and the round oracle
(:mod:`dtopt.twin.dpos_rounds`) both call these functions.

Units: seconds; slots are integers counted from chain time 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import numpy as np

from dtopt.consensus.config import ChainConfig

__all__ = [
    "confirmation_quorum",
    "elect",
    "first_slot_at",
    "irreversible_index",
    "next_own_slot",
    "slot_producer",
    "slot_start_s",
]

# An epoch's tie-break permutation is drawn from (epoch, this salt).
_SALT = 0xD905
# How many epochs ahead a validator looks for its next slot before it checks again.
_LOOKAHEAD_EPOCHS = 8


def confirmation_quorum(config: Any) -> int:
    """Distinct delegates that must produce on top of a block before it is final."""
    return config.rules.confirmation_quorum(config.n_delegates)


@lru_cache(maxsize=4096)
def elect(config: ChainConfig, epoch: int) -> tuple[int, ...]:
    """Positions (among the validators) of the delegates elected for ``epoch``, in slot order.

    The :attr:`ChainConfig.n_delegates` validators with the most stake; ties are broken
    by a permutation drawn from the epoch number (the same on every node).
    """
    stake = config.stake_weights
    m, n = stake.size, config.n_delegates
    if n >= m:
        return tuple(range(m))
    tie_break = np.random.default_rng([int(epoch), _SALT]).permutation(m)
    ranked = np.lexsort((tie_break, -stake))  # most stake first, then the epoch's permutation
    return tuple(sorted(ranked[:n].tolist()))


def slot_producer(config: ChainConfig, slot: int) -> int:
    """Position (among the validators) of the delegate that produces in ``slot``."""
    delegates = elect(config, slot // config.epoch_slots)
    return delegates[slot % len(delegates)]


def slot_start_s(config: Any, slot: int) -> float:
    """Chain time at which ``slot`` starts (s)."""
    return slot * config.slot_s


def first_slot_at(config: Any, t_s: float) -> int:
    """The first slot that starts at or after ``t_s``."""
    return max(math.ceil(t_s / config.slot_s - 1e-9), 0)


def next_own_slot(config: ChainConfig, vpos: int, from_slot: int) -> int | None:
    """The first slot ``>= from_slot`` that validator ``vpos`` produces in, looking a few
    epochs ahead; ``None`` if it is not elected in any of them."""
    epoch = from_slot // config.epoch_slots
    for e in range(epoch, epoch + _LOOKAHEAD_EPOCHS):
        delegates = elect(config, e)
        if vpos not in delegates:
            continue
        first = max(from_slot, e * config.epoch_slots)
        last = (e + 1) * config.epoch_slots
        turn = delegates.index(vpos)
        slot = first + (turn - first) % len(delegates)
        if slot < last:
            return slot
    return None


def irreversible_index(producers_above: Iterable[int], quorum: int) -> int | None:
    """How many blocks above a block must be produced before it is final.

    ``producers_above`` lists the producers of the blocks on top of it, in chain
    order; the block is final once ``quorum`` distinct producers are among them.
    Returns the count of blocks up to and including the confirming one, or
    ``None`` if they never reach the quorum.
    """
    seen: set[int] = set()
    for count, producer in enumerate(producers_above, start=1):
        seen.add(producer)
        if len(seen) >= quorum:
            return count
    return None
