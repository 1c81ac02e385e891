"""Execute: hand the decision (a protocol or a configuration change) to one trusted block producer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dtopt.consensus.config import ChainConfig
from dtopt.consensus.delegates import first_slot_at, slot_producer
from dtopt.consensus.protocols import proposer_index
from dtopt.twin.monitor import WatchedChain
from dtopt.twin.oracle import OracleState

__all__ = ["choose_producer", "execute", "execute_config", "producer_height"]


def producer_height(state: OracleState, validators: Sequence[str], trusted: Sequence[str]) -> int | None:
    """Under a BFT rotation, the height of the earliest block a trusted producer believed
    online will still propose (the block that carries a change; the walk of
    :func:`choose_producer`), or ``None`` if there is no such producer."""
    n = len(validators)
    first = state.next_height + (state.round_elapsed_s > 0)
    allowed = set(trusted)
    for height in first + np.arange(n):
        i = int(proposer_index(int(height), 0, n))
        if state.online[i] and validators[i] in allowed:
            return int(height)
    return None


def choose_producer(state: OracleState, validators: Sequence[str], trusted: Sequence[str],
                    config: ChainConfig | None = None) -> str | None:
    """The trusted producer believed online that proposes soonest, or ``None``.

    Walks the proposer rotation so the switch rides on the earliest block a
    trusted, online producer will still propose. Once the current height has run
    for a while its proposal is probably out already, so the walk then starts at
    the height after it. Under DPoS (``config``, the configuration in force, has
    slots) the walk follows the slot schedule from ``state.now_s`` instead.
    """
    n = len(validators)
    if config is not None and config.rules.slots:
        first_slot = first_slot_at(config, state.now_s)
        slots = first_slot + np.arange(config.epoch_slots + config.n_delegates)
        order = [slot_producer(config, int(k)) for k in slots]
    else:
        first = state.next_height + (state.round_elapsed_s > 0)
        order = proposer_index(first + np.arange(n), 0, n)
    allowed = set(trusted)
    for i in order:
        if state.online[i] and validators[i] in allowed:
            return validators[i]
    return None


def execute(chain: WatchedChain, protocol: str, producer: str) -> None:
    """Ask ``producer`` to carry the switch to ``protocol`` in its next block."""
    chain.request_switch(protocol, producer)


def execute_config(chain: WatchedChain, producer: str, changes: Mapping[str, Any]) -> None:
    """Ask ``producer`` to carry a configuration change (chain configuration names) in its
    next block; it replaces any request the producer still holds."""
    chain.request_config(producer, **changes)
