"""A small discrete-event engine and the chain's typed events.

The engine is a clock and a heap of events; it knows nothing of consensus.
Every event is a named tuple whose first two fields are its time and a sequence
number, so the heap orders events by time and, on ties, by when they were
scheduled (deterministic), and never compares the payload. One class per kind
keeps every field meaning one thing; named tuples cost little more to build
than plain tuples, which matters at hundreds of thousands of events per run.

Units: seconds.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = [
    "BlockGossip",
    "Commit",
    "Engine",
    "PrePrepare",
    "Prepare",
    "Propose",
    "RegimeChange",
    "RoundChange",
    "RoundTimer",
    "SendCommit",
    "SlotTimer",
    "SyncDone",
    "TreeSyncDone",
]


# ---------------------------------------------------------------- consensus messages
# A message event is the message ``src`` sent, arriving (validated) at ``dst``.


class _Message(NamedTuple):
    time_s: float
    seq: int
    dst: int
    src: int
    height: int
    round: int
    block: Any  # the Block proposed or voted for


class PrePrepare(_Message):
    """The proposal of ``block`` for ``(height, round)``."""

    __slots__ = ()


class Prepare(_Message):
    __slots__ = ()


class Commit(_Message):
    __slots__ = ()


class BlockGossip(_Message):
    """DPoS: a delegate's new ``block`` (``round`` unused, 0), broadcast to every validator."""

    __slots__ = ()


class RoundChange(NamedTuple):
    """ROUND-CHANGE for ``round``, carrying the sender's latest vote (round and block)."""

    time_s: float
    seq: int
    dst: int
    src: int
    height: int
    round: int
    voted_block: Any  # Block or None
    voted_round: int


# ---------------------------------------------------------------- local events
# ``epoch`` is the node's epoch when the event was scheduled: a later round, a
# crash or a recovery bumps it and so cancels the event.


class RoundTimer(NamedTuple):
    time_s: float
    seq: int
    node: int
    round: int
    epoch: int


class _NodeStep(NamedTuple):
    time_s: float
    seq: int
    node: int
    height: int
    round: int
    block: Any
    epoch: int


class SendCommit(_NodeStep):
    """A COMMIT for ``block`` held back until the fast-path timeout."""

    __slots__ = ()


class Propose(_NodeStep):
    """The proposer's block is created: send the PRE-PREPARE (``block`` is a locked one, or None)."""

    __slots__ = ()


class SyncDone(NamedTuple):
    """Blocks up to ``target`` height fetched from ``src`` have arrived at ``node``."""

    time_s: float
    seq: int
    node: int
    src: int
    target: int


class SlotTimer(NamedTuple):
    """DPoS: ``node``'s block for ``slot`` is created: it produces and broadcasts it."""

    time_s: float
    seq: int
    node: int
    slot: int
    epoch: int


class TreeSyncDone(NamedTuple):
    """DPoS: blocks fetched from ``src`` have arrived at ``node``: ``final`` ones (final at the
    source) and the ``tentative`` ones of its longest chain above them, both in height order."""

    time_s: float
    seq: int
    node: int
    src: int
    final: tuple
    tentative: tuple


class RegimeChange(NamedTuple):
    time_s: float
    seq: int
    index: int


class Engine:
    """A clock and a heap of time-ordered events, dispatched by type.

    ``handlers`` maps each event class to the function that reacts to it.
    """

    __slots__ = ("handlers", "now_s", "queue", "seq")

    def __init__(self, handlers: Mapping[type, Callable[[Any], None]]) -> None:
        self.handlers = dict(handlers)
        self.queue: list[tuple] = []
        self.seq = itertools.count()
        self.now_s = 0.0

    def schedule(self, event_cls: type, time_s: float, *fields: Any) -> None:
        """Schedule an event of ``event_cls`` at ``time_s`` with its payload ``fields``."""
        heapq.heappush(self.queue, tuple.__new__(event_cls, (time_s, next(self.seq), *fields)))

    def run_until(self, t_s: float) -> None:
        """Process every event up to ``t_s`` in time order; the clock ends at ``t_s``."""
        queue, pop, handlers = self.queue, heapq.heappop, self.handlers
        while queue and queue[0][0] <= t_s:
            event = pop(queue)
            self.now_s = event[0]
            handlers[type(event)](event)
        self.now_s = t_s
