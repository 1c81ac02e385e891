"""The block table and the finality ledger of the message-level chain.

A :class:`Block` is created once by its proposer and shared by reference
(messages carry it). The :class:`Ledger` counts, per height, the validators that
committed the first block seen there (a different block at the same height is
a safety violation), logs the timestamped votes and proposals, and publishes a
:class:`~dtopt.consensus.view.BlockRecord` when a block reaches its finality
quorum: that record is all the outside world sees.

Units: seconds, MB.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.config import ChainConfig
from dtopt.consensus.view import BlockRecord, VoteRecord

__all__ = ["Block", "Ledger"]


class Block:
    """A proposed block: transactions ``[tx0, tx1)`` of the arrival stream.

    ``config`` is the configuration it was proposed under; ``switch`` a new
    configuration it carries (in force from the next height once committed).
    ``round`` is the round of its latest proposal (a locked block is re-proposed).
    ``parent`` is the block it extends under DPoS (forks are possible there); ``None``
    under the BFT protocols, whose chain is decided height by height.
    """

    __slots__ = ("config", "height", "id", "parent", "proposed_s", "proposer", "round", "size_mb", "switch",
                 "tx0", "tx1")

    def __init__(self, id_: int, height: int, proposer: int, tx0: int, tx1: int, config: ChainConfig,
                 switch: ChainConfig | None, proposed_s: float) -> None:
        self.id = id_
        self.height = height
        self.proposer = proposer
        self.round = -1
        self.tx0 = tx0
        self.tx1 = tx1
        self.size_mb = config.block_size_mb(tx1 - tx0)
        self.config = config
        self.switch = switch
        self.proposed_s = proposed_s
        self.parent: Block | None = None


class Ledger:
    """Finality, vote log and the published block records.

    Attributes
    ----------
    blocks : every block proposed, indexed by its id.
    finalized_height : heights below this are final.
    head_config : the configuration in force after the last final block.
    records : the published records, in commit order; ``committed_s`` their commit times.
    safety_violations : commits of a different block at an already decided height.
    """

    __slots__ = ("_canonical", "_count", "_quorum", "_vote_log", "blocks", "committed_s", "finalized_height",
                 "head_config", "records", "safety_violations")

    def __init__(self, genesis: ChainConfig, finality_quorum: int) -> None:
        self._canonical: list[Block] = []
        self._count: list[int] = []
        self._quorum = finality_quorum
        # height -> round -> [proposer, proposed_s, [(validator, phase, sent_s), ...]]
        self._vote_log: dict[int, dict[int, list]] = {}
        self.finalized_height = 0
        self.head_config = genesis
        self.records: list[BlockRecord] = []
        self.committed_s: list[float] = []
        self.blocks: list[Block] = []  # every block proposed, by id
        self.safety_violations = 0

    def new_block(self, height: int, proposer: int, tx0: int, tx1: int, config: ChainConfig,
                  switch: ChainConfig | None, t: float) -> Block:
        block = Block(len(self.blocks), height, proposer, tx0, tx1, config, switch, t)
        self.blocks.append(block)
        return block

    def log_proposal(self, height: int, round_: int, proposer: int, t: float) -> None:
        if height >= self.finalized_height:
            log = self._vote_log.setdefault(height, {}).setdefault(round_, [-1, 0.0, []])
            log[0], log[1] = proposer, t

    def log_vote(self, vpos: int, phase: str, height: int, round_: int, t: float) -> None:
        if height >= self.finalized_height:
            rounds = self._vote_log.setdefault(height, {})
            rounds.setdefault(round_, [-1, 0.0, []])[2].append((vpos, phase, t))

    def count_commit(self, height: int, block: Block) -> bool:
        """A validator committed ``block`` at ``height``; True if that made it final."""
        if height == len(self._canonical):
            self._canonical.append(block)
            self._count.append(0)
        elif self._canonical[height] is not block:
            self.safety_violations += 1
            return False
        self._count[height] += 1
        return self._count[height] == self._quorum

    def mark_final(self, height: int, block: Block) -> bool:
        """A rule other than counting commits (DPoS's confirmations) made ``block`` final at
        ``height``; True if it was not final before. A different block already final there
        is a safety violation, and so is a block proposed under another configuration than
        the one in force."""
        if height < len(self._canonical):
            if self._canonical[height] is not block:
                self.safety_violations += 1
            return False
        if block.config is not self.head_config and block.config != self.head_config:
            self.safety_violations += 1
            return False
        self._canonical.append(block)
        self._count.append(self._quorum)  # counts on from the quorum: never final a second time
        return True

    def finalize(self, block: Block, round_: int, t: float, nodes: tuple[str, ...],
                 validators: tuple[str, ...], arrival_s: NDArray[np.float64],
                 votes: list[tuple[int, str, float]] | None = None) -> None:
        """Publish ``block``'s record: final at ``t``, committed in ``round_``. ``votes``
        (validator position, phase, time) replaces the logged votes (DPoS's confirmations)."""
        h = block.height
        rounds = self._vote_log.pop(h, {})
        self.finalized_height = h + 1
        proposer, proposed_s, logged = rounds.get(round_, [-1, 0.0, []])
        votes = logged if votes is None else votes
        if proposer < 0:  # committed through sync without a logged proposal
            proposer, proposed_s = block.proposer, block.proposed_s
        config, switch = block.config, block.switch
        change = None if switch is None else {
            key: getattr(switch, key) for key in config.SWITCHABLE
            if getattr(switch, key) != getattr(config, key)
        }
        self.records.append(
            BlockRecord(
                height=h,
                round=round_,
                proposer=nodes[proposer],
                protocol=config.protocol,
                proposed_s=proposed_s,
                committed_s=t,
                tx_ids=np.arange(block.tx0, block.tx1, dtype=np.int64),
                size_mb=block.size_mb,
                votes=tuple(VoteRecord(validators[v], phase, s) for v, phase, s in votes if s <= t),
                switch_to=switch.protocol if change and "protocol" in change else None,
                tx_arrival_s=arrival_s[block.tx0:block.tx1].copy(),
                max_block_mb=config.max_block_mb,
                min_block_interval_s=config.min_block_interval_s,
                round_timeout_s=config.round_timeout_s,
                round_timer=config.round_timer,
                change=change,
            )
        )
        self.committed_s.append(t)
        if switch is not None:
            self.head_config = switch
