"""Execute: hand the decision (a protocol or a configuration change) to one trusted block producer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dtopt.consensus.protocols import proposer_index
from dtopt.twin.monitor import WatchedChain
from dtopt.twin.oracle import OracleState

__all__ = ["choose_producer", "execute", "execute_config", "producer_height"]


def producer_height(state: OracleState, validators: Sequence[str], trusted: Sequence[str]) -> int | None:
    """The height of the earliest block a trusted producer believed online will still propose
    (the block that carries a change), or ``None`` if no such producer.

    Walks the proposer rotation from the next height; once the current height has
    run for a while its proposal is probably out already, so the walk then starts
    at the height after it.
    """
    n = len(validators)
    first = state.next_height + (state.round_elapsed_s > 0)
    allowed = set(trusted)
    for height in first + np.arange(n):
        i = int(proposer_index(height, 0, n))
        if state.online[i] and validators[i] in allowed:
            return int(height)
    return None


def choose_producer(state: OracleState, validators: Sequence[str], trusted: Sequence[str]) -> str | None:
    """The trusted producer believed online that proposes soonest (:func:`producer_height`),
    or ``None``: the switch rides on the earliest block it will still propose."""
    height = producer_height(state, validators, trusted)
    return None if height is None else validators[int(proposer_index(height, 0, len(validators)))]


def execute(chain: WatchedChain, protocol: str, producer: str) -> None:
    """Ask ``producer`` to carry the switch to ``protocol`` in its next block."""
    chain.request_switch(protocol, producer)


def execute_config(chain: WatchedChain, producer: str, changes: Mapping[str, Any]) -> None:
    """Ask ``producer`` to carry a configuration change (chain configuration names) in its
    next block; it replaces any request the producer still holds."""
    chain.request_config(producer, **changes)
