"""What a permissioned chain shows the outside world, and nothing more.

The digital twin sees the chain only through these records: the transactions
that arrived (with their arrival times) and the committed blocks, each with its
proposer, round, configuration (protocol, block limits, round timeout) and any
change of it it carries, timestamps and the votes of the validators that voted.
Bandwidths, who is offline, pool contents and every other piece of simulator
state stay hidden; the twin must infer them.

Times are seconds of chain time; sizes are MB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["BlockRecord", "ChainView", "VoteRecord"]


@dataclass(frozen=True)
class VoteRecord:
    """One validator's signed, timestamped vote as recorded in a committed block.

    Attributes
    ----------
    validator : name of the validator that signed the vote.
    phase : ``"PREPARE"`` or ``"COMMIT"``; under DPoS ``"BLOCK"``: the delegate produced a
        block on top of this one (a confirmation).
    sent_s : chain time at which the validator sent the vote (its own timestamp; under
        DPoS, when it sent that block).
    """

    validator: str
    phase: str
    sent_s: float


@dataclass(frozen=True, eq=False)
class BlockRecord:
    """A committed block as the chain publishes it.

    Attributes
    ----------
    height : position in the chain (0 = first block after genesis).
    round : consensus round at that height in which the block was committed
        (0 = first try; each round change adds one).
    proposer : name of the block producer that proposed it.
    protocol : consensus protocol in force for this block (``"IBFT"``/``"BigFoot"``/``"DPoS"``).
    proposed_s : time the proposer sent the PRE-PREPARE.
    committed_s : time the block became final (a quorum of validators committed it; under
        DPoS, more than two thirds of the delegates had produced on top of it).
    tx_ids : ids of the transactions it carries, shape ``(n_tx,)``, int64.
    size_mb : block size (MB).
    votes : the PREPARE and COMMIT votes the block's certificate carries; under DPoS the
        confirmations that made it final (each delegate that produced on top of it).
    switch_to : protocol switch carried by this block (takes effect from the next
        height), or ``None``.
    max_block_mb, min_block_interval_s, round_timeout_s, round_timer : the rest of the
        configuration the block was proposed under (MB, s, s, ``"doubling"``/``"fixed"``);
        the defaults are the chain's defaults, for hand-built records.
    change : the configuration change this block carries, in force from the next
        height: the fields that change and their new values (e.g.
        ``{"round_timeout_s": 5.0}``; ``{"protocol": "BigFoot"}`` along with
        ``switch_to``), or ``None``.
    tx_arrival_s : arrival times of the transactions it carries, shape ``(n_tx,)``
        (public: every transaction was published with its arrival time), so the
        latency of a block can be scored from any window of the view.
    """

    height: int
    round: int
    proposer: str
    protocol: str
    proposed_s: float
    committed_s: float
    tx_ids: NDArray[np.int64]
    size_mb: float
    votes: tuple[VoteRecord, ...] = ()
    switch_to: str | None = None
    tx_arrival_s: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    max_block_mb: float = 1.0
    min_block_interval_s: float = 0.1
    round_timeout_s: float = 10.0
    round_timer: str = "doubling"
    change: dict[str, Any] | None = None


@dataclass(frozen=True, eq=False)
class ChainView:
    """The outside view of one time window ``[start_s, end_s)``.

    Attributes
    ----------
    start_s, end_s : the window (s).
    validators : names of the chain's validators (public membership, in order).
    tx_ids : ids of the transactions that arrived in the window, shape ``(n,)``.
    tx_arrival_s : their arrival times, shape ``(n,)``, ascending: when each was in
        every validator's pool.
    blocks : blocks committed in the window, in height order.
    tx_submitted_s : when each was submitted at its entry validator, shape ``(n,)``
        (s; the transaction's own timestamp): ``tx_arrival_s`` when transactions enter
        every pool at once, earlier by the gossip delay when they have entry points
        (``Scenario.tx_entry_share``).
    tx_entry : position in ``validators`` of each one's entry validator, shape ``(n,)``;
        ``-1`` when it entered every pool at once.
    """

    start_s: float
    end_s: float
    validators: tuple[str, ...]
    tx_ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tx_arrival_s: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    blocks: tuple[BlockRecord, ...] = ()
    tx_submitted_s: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    tx_entry: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
