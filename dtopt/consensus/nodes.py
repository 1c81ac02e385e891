"""Per-node consensus state of the message-level chain.

A :class:`Node` holds what one node knows. Height, round, its vote lock, its
proposal and COMMIT flags and its chain are persistent (they survive a crash);
the votes it has received and its timers are volatile (lost when it goes
offline, see :meth:`Node.recover`). Votes are counted as bitmasks over the
validators' positions, so a count is one ``int.bit_count()``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from dtopt.consensus.config import ChainConfig

__all__ = ["Node", "Quorums"]


class Quorums(NamedTuple):
    """The thresholds a node acts on under one configuration (all from the protocol's rules).

    Attributes
    ----------
    config : the configuration in force.
    fast : PREPAREs that commit at once (M + 1 = never, without a fast path).
    prepare : PREPAREs before a node may send its COMMIT.
    act : the lower of the two: fewer PREPAREs cannot change anything.
    commit, round_change, round_skip, finality : the other quorums.
    """

    config: ChainConfig
    fast: int
    prepare: int
    act: int
    commit: int
    round_change: int
    round_skip: int
    finality: int

    @classmethod
    def of(cls, config: ChainConfig) -> Quorums:
        rules, m = config.rules, config.n_validators
        fast = rules.fast_quorum(m)
        fast = m + 1 if fast is None else fast
        prepare = rules.prepare_quorum(m)
        return cls(config, fast, prepare, min(fast, prepare), rules.commit_quorum(m),
                   rules.round_change_quorum(m), rules.round_skip_quorum(m), rules.block_finality_quorum(m))


class Node:
    """One node's state. ``vpos`` is its position among the validators (-1 for a follower)."""

    __slots__ = (
        "chain",
        "commit_armed",
        "commits",
        "dpos",
        "epoch",
        "established",
        "height",
        "index",
        "online",
        "pending",
        "pending_switch",
        "pp_block",
        "prepares",
        "proposed",
        "quorums",
        "rc",
        "rc_high",
        "round",
        "round_start",
        "sent_commit",
        "syncing",
        "tx_end",
        "voted_block",
        "voted_round",
        "vpos",
    )

    def __init__(self, index: int, vpos: int, quorums: Quorums, n_validators: int) -> None:
        self.index = index
        self.vpos = vpos
        self.online = True
        self.quorums = quorums  # of the configuration in force at its height
        self.pending_switch: dict[str, Any] | None = None  # change to carry in its next fresh proposal
        self.height = 0
        self.round = 0
        self.round_start = 0.0
        self.epoch = 0  # bumped on every round start, crash and recovery: cancels timers
        self.established = True  # whether the current round started (else awaiting RC quorum)
        self.voted_round = -1
        self.voted_block: Any = None
        self.proposed = -1  # round it proposed in at this height
        self.sent_commit = -1  # round whose COMMIT it sent
        self.commit_armed = -1  # epoch in which a held-back COMMIT is scheduled
        self.pp_block: Any = None  # the block of the current round's PRE-PREPARE
        self.prepares: dict[int, int] = {}  # round -> bitmask of senders
        self.commits: dict[int, int] = {}
        self.rc: dict[int, list] = {}  # round -> [mask, best voted round, its block]
        self.rc_high = [-1] * n_validators  # highest ROUND-CHANGE round per sender
        self.pending: list[tuple] = []  # messages for height + 1, delivered when it gets there
        self.syncing = False
        self.chain: list[Any] = []  # committed blocks, by height
        self.tx_end = 0  # transactions up to this id are in its chain
        self.dpos: Any = None  # DPoS: its tentative blocks (a DposState) while DPoS is in force

    @property
    def config(self) -> ChainConfig:
        return self.quorums.config

    def is_validator(self) -> bool:
        return self.vpos >= 0

    def new_height(self) -> None:
        """Reset the per-height state (the caller starts round 0)."""
        self.round = 0
        self.voted_round = -1
        self.voted_block = None
        self.proposed = self.sent_commit = -1
        self.pp_block = None
        self.prepares, self.commits, self.rc = {}, {}, {}
        self.rc_high = [-1] * len(self.rc_high)

    def crash(self) -> None:
        self.online = False
        self.epoch += 1
        self.syncing = False
        self.pending = []

    def recover(self) -> None:
        """Back online: the votes it received are lost, its own (on disk) are not."""
        self.online = True
        self.epoch += 1
        r, own = self.round, 1 << max(self.vpos, 0)
        self.prepares = {r: own} if self.voted_round == r else {}
        self.commits = {r: own} if self.sent_commit == r else {}
        self.rc = {}
        self.rc_high = [-1] * len(self.rc_high)
        self.pp_block = None

    def count_round_change(self, v: int, r: int, voted_r: int, voted_b: Any) -> int:
        """Record validator ``v``'s ROUND-CHANGE for ``r``; returns how many it holds for ``r``."""
        entry = self.rc.get(r)
        if entry is None:
            entry = self.rc[r] = [0, -1, None]
        entry[0] |= 1 << v
        if voted_r > entry[1]:
            entry[1], entry[2] = voted_r, voted_b
        return entry[0].bit_count()
