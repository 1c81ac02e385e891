"""Monitor: the twin's only window onto the chain.

Every twin interval the monitor asks the chain for the outside view of the
interval that just ended (``chain.view(start, end)``), checks that the data is
usable, and keeps the one piece of history the analysis needs: which
transactions have arrived but are not yet in a committed block (the pool
backlog, as the outside world can see it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.view import BlockRecord, ChainView, VoteRecord
from dtopt.errors import DtoptError

__all__ = ["IntervalData", "IntervalDataError", "Monitor", "WatchedChain", "check_interval"]


class IntervalDataError(DtoptError):
    """The interval's data cannot be trusted (missing, empty, out of order, duplicated, ...)."""


@dataclass(frozen=True, eq=False)
class IntervalData:
    """One checked interval plus the backlog seen at its end.

    Attributes
    ----------
    view : the interval's outside view.
    backlog_tx : transactions that arrived (in this or an earlier interval) and are
        not in any block committed so far.
    backlog_age_s : age of the oldest of them at the interval's end (s); 0 without backlog.
    wait_s : the time transactions spent uncommitted inside the interval per transaction
        present in it (the backlog at its start and its arrivals; s): the measured
        counterpart of the oracle's ``mean_wait_s``; 0 when none was present.
    """

    view: ChainView
    backlog_tx: int
    backlog_age_s: float
    wait_s: float = 0.0


def check_interval(view: Any, validators: tuple[str, ...], start_s: float, end_s: float) -> ChainView:
    """Return ``view`` if it is a usable view of ``[start_s, end_s)``, else raise IntervalDataError.

    Checks: present, the expected window, not empty, times in order and inside the
    window, no duplicated transactions, heights or votes, and votes only from
    ``validators``.
    """
    if not isinstance(view, ChainView):
        raise IntervalDataError(f"missing interval data for [{start_s:g}, {end_s:g}) s")
    records_ok = all(isinstance(b, BlockRecord) and all(isinstance(v, VoteRecord) for v in b.votes)
                     for b in view.blocks)
    if not records_ok:
        raise IntervalDataError("interval data holds a malformed block or vote record")
    if not (np.isclose(view.start_s, start_s) and np.isclose(view.end_s, end_s)):
        raise IntervalDataError(
            f"interval data covers [{view.start_s:g}, {view.end_s:g}) s, expected [{start_s:g}, {end_s:g}) s"
        )
    arrival = np.asarray(view.tx_arrival_s, dtype=float)
    ids = np.asarray(view.tx_ids)
    if not view.blocks and arrival.size == 0:
        raise IntervalDataError(f"empty interval data for [{start_s:g}, {end_s:g}) s")
    if ids.shape != arrival.shape:
        raise IntervalDataError("interval data has a different number of transaction ids and arrival times")
    if np.any(np.diff(arrival) < 0) or np.any((arrival < start_s) | (arrival >= end_s)):
        raise IntervalDataError("transaction arrivals are out of order or outside the interval")
    if np.unique(ids).size != ids.size:
        raise IntervalDataError("duplicated transaction ids in the interval's arrivals")
    heights = np.array([b.height for b in view.blocks])
    committed = np.array([b.committed_s for b in view.blocks], dtype=float)
    if np.any(np.diff(heights) <= 0) or np.any(np.diff(committed) < 0):
        raise IntervalDataError("blocks are out of order or duplicated (heights must increase)")
    if np.any((committed < start_s) | (committed >= end_s)):
        raise IntervalDataError("a block's commit time lies outside the interval")
    if view.blocks:
        in_blocks = np.concatenate([np.asarray(b.tx_ids) for b in view.blocks])
        if np.unique(in_blocks).size != in_blocks.size:
            raise IntervalDataError("a transaction appears in two blocks")
    known = set(validators)
    for block in view.blocks:
        signers = [(v.validator, v.phase) for v in block.votes]
        unknown = {name for name, _ in signers} - known
        if unknown:
            raise IntervalDataError(
                f"block {block.height} carries votes from unknown validators {sorted(unknown)}"
            )
        if len(set(signers)) != len(signers):
            raise IntervalDataError(f"block {block.height} carries a duplicated vote")
        if block.proposer not in known:
            raise IntervalDataError(
                f"block {block.height} was proposed by unknown validator {block.proposer!r}"
            )
    return view


class WatchedChain(Protocol):
    """What the twin may use of a chain it watches: its contract with any chain.

    The time, the protocol in force at the head, the outside view of a window, and
    a request to a producer to carry a protocol switch or a configuration change
    (``request_config(producer, protocol=..., max_block_mb=..., min_block_interval_s=...,
    round_timeout_s=...)``, any subset). Nothing of the chain's hidden state.
    """

    @property
    def now_s(self) -> float: ...

    @property
    def protocol(self) -> str: ...

    def view(self, start_s: float, end_s: float) -> ChainView: ...

    def request_switch(self, protocol: str, producer: str) -> None: ...

    def request_config(self, producer: str, **changes: Any) -> None: ...


class Monitor:
    """Pulls each interval's outside view from the chain and tracks the backlog.

    Parameters
    ----------
    validators : the chain's validators (public membership).
    """

    def __init__(self, validators: tuple[str, ...]) -> None:
        self.validators = tuple(validators)
        self.last_end_s = 0.0
        self._pending_ids: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._pending_arrival_s: NDArray[np.float64] = np.zeros(0)

    def observe(self, chain: WatchedChain, t_s: float) -> IntervalData:
        """Read ``[last observation, t_s)`` through ``chain.view`` and check it.

        The window always advances, so a bad interval is skipped rather than
        re-read. Raises :class:`IntervalDataError` for unusable data.
        """
        start_s, self.last_end_s = self.last_end_s, float(t_s)
        try:
            view = chain.view(start_s, t_s)
        except DtoptError as err:
            raise IntervalDataError(f"no interval data for [{start_s:g}, {t_s:g}) s: {err}") from None
        view = check_interval(view, self.validators, start_s, t_s)
        ids = np.concatenate([self._pending_ids, np.asarray(view.tx_ids, dtype=np.int64)])
        arrival = np.concatenate([self._pending_arrival_s, np.asarray(view.tx_arrival_s, dtype=float)])
        until_s = np.full(ids.size, float(t_s))  # when each present transaction stopped waiting here
        if view.blocks:
            done = np.concatenate([np.asarray(b.tx_ids, dtype=np.int64) for b in view.blocks])
            at_s = np.concatenate([np.full(len(b.tx_ids), b.committed_s) for b in view.blocks])
            position = np.searchsorted(ids, done)  # ids ascend: transactions are numbered by arrival
            found = (position < ids.size) & (ids[np.minimum(position, ids.size - 1)] == done)
            until_s[position[found]] = at_s[found]
        waited_s = np.clip(until_s - np.maximum(arrival, start_s), 0.0, None)
        wait_s = float(waited_s.mean()) if ids.size else 0.0
        keep = until_s >= t_s
        ids, arrival = ids[keep], arrival[keep]
        self._pending_ids, self._pending_arrival_s = ids, arrival
        age = float(t_s - arrival.min()) if arrival.size else 0.0
        return IntervalData(view=view, backlog_tx=int(ids.size), backlog_age_s=max(age, 0.0), wait_s=wait_s)
