"""DPoS steps of the message-level chain: slots, the longest chain and the irreversible block.

While the configuration in force at a validator's height is DPoS (its
:class:`~dtopt.consensus.protocols.ProtocolRules` have ``slots``), the validator
runs no BFT rounds. It keeps a tree of the tentative blocks above its final
chain (:class:`DposState`) and:

* produces when its slot comes (``on_slot``): the oldest pooled transactions up
  to the block size, on top of its longest chain, broadcast to every validator
  (one BLOCK message each, delayed by size / bandwidth + propagation + block
  validation + jitter, as a PRE-PREPARE); the slot of an offline delegate, or of
  one still fetching blocks it missed, stays empty;
* on a block (``on_block_gossip``) adds it to the tree if it knows the parent
  (else it fetches the missing blocks from the sender, ``on_tree_sync_done``)
  and switches to it if it makes a strictly longer chain (ties keep the first);
* settles (``_dpos_settle``): the blocks of its longest chain on top of which
  more than two thirds of the delegates have produced are final. The first
  validator to see a block final publishes it (the confirming delegate, when it
  produces), with the delegates' confirming blocks as its votes (phase
  ``BLOCK``, at their production times).

A configuration change carried in a DPoS block takes effect once that block is
final; the tentative blocks produced on top of it under the old configuration
are dropped (their transactions return to the pool), and a switch to a BFT
protocol starts round 0 at the next height. The schedule, the election and the
finality rule are :mod:`dtopt.consensus.delegates`, which the oracle reads too.

Units: seconds, MB, MB/s.
"""

from __future__ import annotations

from typing import Any, Final

from dtopt.consensus.blocks import Block, Ledger
from dtopt.consensus.delegates import (
    confirmation_quorum,
    first_slot_at,
    irreversible_index,
    next_own_slot,
    slot_producer,
    slot_start_s,
)
from dtopt.consensus.engine import BlockGossip, SlotTimer, TreeSyncDone
from dtopt.consensus.nodes import Node
from dtopt.consensus.protocols import MessageKind

__all__ = ["DposState", "DposSteps"]

_CONFIRM: Final = MessageKind.BLOCK.value  # phase of a published confirmation
# A validator elected in none of the next epochs checks again this many epochs later.
_RECHECK_EPOCHS: Final = 8


class DposState:
    """A DPoS validator's tentative blocks (above its final chain) and the tip of its longest chain."""

    __slots__ = ("blocks", "config", "head", "orphans")

    def __init__(self, tip: Block | None, config: Any) -> None:
        self.config = config  # the configuration its tentative blocks were checked against
        self.blocks: dict[int, Block] = {}  # id -> block, in arrival order
        self.head = tip  # tip of the longest chain (the final tip when nothing is tentative)
        self.orphans: dict[int, list[Block]] = {}  # parent id -> blocks waiting for it


def _tip(node: Node) -> Block | None:
    return node.chain[-1] if node.chain else None


def _tentative_lineage(head: Block | None, final_height: int) -> list[Block]:
    """The blocks from ``head`` down to ``final_height`` (head first)."""
    path = []
    while head is not None and head.height >= final_height:
        path.append(head)
        head = head.parent
    return path


class DposSteps:
    """The DPoS reactions; mixed into :class:`~dtopt.consensus.chain.Chain`."""

    _nodes: list[Node]
    _vpos: list[int]
    _ledger: Ledger
    _bandwidth: Any
    _prop: list[list[float]]
    _schedule: Any
    _broadcast: Any
    _commit: Any
    _finalize: Any
    _new_block: Any
    _request_sync: Any
    _start_height: Any

    # ------------------------------------------------------------------ mode

    def _next_height(self, node: Node, t: float) -> None:
        """A validator reached a new final height: BFT round 0, or DPoS slots, as the
        configuration in force says."""
        if node.config.rules.slots:
            self._enter_dpos(node, t)
        else:
            node.dpos = None
            self._start_height(node, t)

    def _enter_dpos(self, node: Node, t: float) -> None:
        if node.dpos is not None:
            self._dpos_prune(node, node.dpos.config is not node.config)
            return
        node.dpos = DposState(_tip(node), node.config)
        node.epoch += 1  # cancels the BFT timers
        node.pending = []
        self._arm_slot(node, first_slot_at(node.config, t))

    def _dpos_come_back(self, node: Node, t: float) -> None:
        """A DPoS validator returns: it re-arms its slots and fetches what it missed."""
        if node.dpos is None:
            self._enter_dpos(node, t)
        else:
            node.dpos.orphans = {}
            self._arm_slot(node, first_slot_at(node.config, t))
        peers = [p for p in self._nodes if p is not node and p.online and p.is_validator()]
        if peers:
            best = max(peers, key=lambda p: (_head_height(p), -p.index))
            self._dpos_request_sync(node, best, t)

    # ------------------------------------------------------------------ slots

    def _arm_slot(self, node: Node, from_slot: int) -> None:
        config = node.config
        slot = next_own_slot(config, node.vpos, from_slot)
        if slot is None:  # not elected soon: look again later
            wake = slot_start_s(config, from_slot + _RECHECK_EPOCHS * config.epoch_slots)
            self._schedule(SlotTimer, wake, node.index, -(from_slot + 1), node.epoch)
        else:
            self._schedule(SlotTimer, config.proposal_sent_s(slot_start_s(config, slot)), node.index, slot,
                           node.epoch)

    def on_slot(self, event: SlotTimer) -> None:
        """``node``'s slot: its block (assembled from the slot's start) is ready to send."""
        node = self._nodes[event.node]
        if event.epoch != node.epoch or not node.online or node.dpos is None:
            return
        slot = event.slot
        if slot < 0:  # a re-check
            self._arm_slot(node, -slot - 1 + _RECHECK_EPOCHS * node.config.epoch_slots)
            return
        # its slot under the configuration in force; a delegate still fetching blocks it
        # missed knows its chain is stale and lets the slot pass
        if slot_producer(node.config, slot) == node.vpos and not node.syncing:
            self._produce(node, event.time_s)
        self._arm_slot(node, slot + 1)

    def _produce(self, node: Node, t: float) -> None:
        """Produce on top of the longest chain and broadcast the block."""
        parent = node.dpos.head
        h, tx0 = (0, 0) if parent is None else (parent.height + 1, parent.tx1)
        block = self._new_block(node, h, t, tx0)
        block.parent = parent
        block.round = 0
        self._broadcast(t, BlockGossip, node, h, 0, block)
        self._dpos_add(node, block, t)

    # ------------------------------------------------------------------ blocks

    def on_block_gossip(self, message: BlockGossip) -> None:
        arrived_s, _, dst, src, _, _, block = message
        node = self._nodes[dst]
        if node.online and node.dpos is not None:
            self._dpos_receive(node, block, src, arrived_s)

    def _dpos_receive(self, node: Node, block: Block, src: int, t: float) -> None:
        state = node.dpos
        if state is None or block.height < node.height or block.id in state.blocks:
            return  # at or below its final chain, or known
        parent = block.parent
        if parent is not _tip(node) and (parent is None or parent.id not in state.blocks):
            if parent is not None and parent.height >= node.height:  # it lacks an ancestor: fetch it
                state.orphans.setdefault(parent.id, []).append(block)
                self._dpos_request_sync(node, self._nodes[src], t)
            return  # else it conflicts with the node's final chain
        self._dpos_add(node, block, t)

    def _dpos_add(self, node: Node, block: Block, t: float) -> None:
        state = node.dpos
        config = node.config
        if block.config is not config and block.config != config:
            return  # produced under a configuration no longer in force
        state.blocks[block.id] = block
        if state.head is None or block.height > state.head.height:
            state.head = block
            self._dpos_settle(node, t)
        for child in state.orphans.pop(block.id, ()):
            self._dpos_receive(node, child, child.proposer, t)

    # ------------------------------------------------------------------ finality

    def _dpos_settle(self, node: Node, t: float) -> None:
        """Make final what more than two thirds of the delegates produced on top of, on the
        node's longest chain; publish what nobody saw final before."""
        path = _tentative_lineage(node.dpos.head, node.height)
        count = irreversible_index((b.proposer for b in path), confirmation_quorum(node.config))
        if count is None or count >= len(path):
            return
        for depth in range(len(path) - 1, count - 1, -1):  # lowest first
            block = path[depth]
            newly = self._ledger.mark_final(block.height, block)
            self._commit(node, block, 0, t, start_next=False)
            if newly:
                self._finalize(block, 0, node, t, votes=self._confirmations(path[:depth]))
            if block.switch is not None:  # the blocks above were produced under the old configuration
                break
        self._next_height(node, t)

    def _confirmations(self, above: list[Block]) -> list[tuple[int, str, float]]:
        """The votes a final block publishes: each delegate that produced on top of it, with
        the time of its first block there (``above``: head first)."""
        first: dict[int, float] = {}
        for block in above:  # head first: the last write is the lowest block
            first[self._vpos[block.proposer]] = block.proposed_s
        return [(v, _CONFIRM, s) for v, s in sorted(first.items(), key=lambda item: item[1])]

    def _dpos_prune(self, node: Node, reconfigured: bool) -> None:
        """Keep the tentative blocks that still extend the final chain (``reconfigured``: under
        the configuration now in force); the head moves to the longest of them."""
        state, tip, config, final_height = node.dpos, _tip(node), node.config, node.height
        if not reconfigured and state.head is not None and state.head.height >= final_height:
            # the usual case: the final chain grew along the head's chain; forks off it go
            state.blocks = {k: b for k, b in state.blocks.items() if b.height >= final_height}
            state.orphans = {k: v for k, v in state.orphans.items() if v[0].height > final_height}
            if not state.blocks or any(b.parent is not tip and b.height == final_height
                                       for b in state.blocks.values()):
                self._dpos_prune(node, True)  # a fork below the new tip: check every link
            return
        state.config = config
        kept: dict[int, Block] = {}
        for block in sorted(state.blocks.values(), key=lambda b: b.height):
            parent = block.parent
            linked = parent is tip or (parent is not None and parent.id in kept)
            if block.height >= final_height and linked and (block.config is config or block.config == config):
                kept[block.id] = block
        state.blocks = kept
        if state.head is None or state.head.id not in kept:
            state.head = max(kept.values(), key=lambda b: b.height, default=tip)
        state.orphans = {k: v for k, v in state.orphans.items() if v[0].height > node.height}

    # ------------------------------------------------------------------ sync

    def _dpos_request_sync(self, node: Node, src: Node, t: float) -> None:
        """``node`` fetches from ``src`` the final blocks it lacks and ``src``'s longest chain."""
        if node.syncing or not node.online or src is node:
            return
        final = tuple(src.chain[node.height:])
        tentative = tuple(reversed(_tentative_lineage(src.dpos.head, src.height))) if src.dpos else ()
        if not final and not tentative:
            return
        node.syncing = True
        i, j = node.index, src.index
        delay = node.config.sync_delay_s(
            [b.size_mb for b in final + tentative], self._bandwidth[j], self._bandwidth[i],
            self._prop[i][j], self._prop[j][i],
        )
        self._schedule(TreeSyncDone, t + delay, i, j, final, tentative)

    def on_tree_sync_done(self, event: TreeSyncDone) -> None:
        node, t = self._nodes[event.node], event.time_s
        if not node.syncing:
            return  # went offline meanwhile; the transfer was lost
        node.syncing = False
        committed = False
        for block in event.final:  # final at the source
            if block.height == node.height:
                self._commit(node, block, block.round, t, start_next=False)
                committed = True
        if committed:
            self._next_height(node, t)
        for block in event.tentative:  # (the node may leave DPoS on the way: then they are dropped)
            self._dpos_receive(node, block, event.src, t)
        src = self._nodes[event.src]
        if src.height > node.height:  # the source moved on meanwhile: keep up
            if node.dpos is not None:
                self._dpos_request_sync(node, src, t)
            else:
                self._request_sync(node, src, t)


def _head_height(node: Node) -> int:
    head = node.dpos.head if node.dpos is not None else _tip(node)
    return -1 if head is None else head.height
