"""The consensus protocol's steps: how a node reacts to each event (IBFT / BigFoot).

The reactions are named after the protocol's steps: a round starts
(``_start_round``) and times out (``on_round_timeout``), the proposer proposes
(``on_propose``), and a node reacts to a PRE-PREPARE (``on_pre_prepare``), a
PREPARE (``on_prepare``), a COMMIT (``on_commit``) and a ROUND-CHANGE
(``on_round_change``), then commits (``_check``, ``_commit``). The thresholds are
the node's :class:`~dtopt.consensus.nodes.Quorums`, read off the protocol's
rules; timers, block filling and message delays are the node's
:class:`~dtopt.consensus.config.ChainConfig`'s. The
:class:`~dtopt.consensus.chain.Chain` supplies the nodes, the links and the engine.

Units: seconds, MB, MB/s.
"""

from __future__ import annotations

import heapq
from itertools import repeat
from typing import Any, Final

import numpy as np

from dtopt.consensus.arrivals import Arrivals
from dtopt.consensus.blocks import Block, Ledger
from dtopt.consensus.engine import (
    BlockGossip,
    Commit,
    Engine,
    Prepare,
    PrePrepare,
    Propose,
    RoundChange,
    RoundTimer,
    SendCommit,
)
from dtopt.consensus.nodes import Node
from dtopt.consensus.protocols import MessageKind, draw_jitter_s, proposer_index

__all__ = ["ConsensusSteps"]

_KIND: Final = {PrePrepare: MessageKind.PRE_PREPARE, Prepare: MessageKind.PREPARE, Commit: MessageKind.COMMIT,
                RoundChange: MessageKind.ROUND_CHANGE, BlockGossip: MessageKind.BLOCK}
_PREPARE: Final = MessageKind.PREPARE.value  # vote phases as logged
_COMMIT: Final = MessageKind.COMMIT.value
_JITTER_BUFFER: Final = 1 << 16  # standard-exponential draws fetched from the rng at a time


class ConsensusSteps:
    """The protocol's reactions; mixed into :class:`~dtopt.consensus.chain.Chain`."""

    _arrivals: Arrivals
    _bandwidth: Any
    _engine: Engine
    _followers: list[Node]
    _jitter: np.random.Generator
    _jitter_buf: Any
    _jitter_pos: int
    _jitter_s: float
    _ledger: Ledger
    _msg_count: dict[type, int]
    _nodes: list[Node]
    _online_np: Any
    _others: list[Any]
    _prop_rows: list[Any]
    _schedule: Any
    _scenario: Any
    _validators: list[int]
    _vpos: list[int]
    _quorums: Any
    _request_sync: Any

    # ------------------------------------------------------------------ sending

    def _broadcast(self, t: float, event: type, node: Node, h: int, r: int, block: Any,
                   voted_round: int | None = None) -> None:
        """Send one message from ``node`` to every other online validator (one event each)."""
        s = node.index
        others = self._others[s]
        online = self._online_np[others]
        dst = others[online]
        n = len(dst)
        if not n:
            return
        kind = _KIND[event]
        self._msg_count[event] += n
        pos = self._jitter_pos
        if pos + n > len(self._jitter_buf):
            self._jitter_buf = draw_jitter_s(self._jitter, 1.0, _JITTER_BUFFER)
            pos = 0
        self._jitter_pos = pos + n
        jitter = self._jitter_buf[pos:pos + n] * self._jitter_s
        bandwidth, config = self._bandwidth, node.quorums.config
        receivers_mbps = bandwidth[dst] if config.bandwidth_model == "slower" else None  # else unused
        delay = config.message_delay_s(
            kind, block.size_mb if block is not None else 0.0, bandwidth[s], receivers_mbps,
            self._prop_rows[s][online], jitter,
        )
        # The events are built at C level (map/zip/tuple.__new__, no Python-level call per
        # receiver): this is the simulator's hottest loop. zip stops at the last receiver,
        # so it draws exactly one sequence number per message.
        payload = (repeat(s), repeat(h), repeat(r), repeat(block))
        if voted_round is not None:
            payload = (*payload, repeat(voted_round))
        fields = zip((t + delay).tolist(), self._engine.seq, dst.tolist(), *payload)  # noqa: B905 (infinite)
        queue, push = self._engine.queue, heapq.heappush
        for message in map(tuple.__new__, repeat(event), fields):
            push(queue, message)

    # ------------------------------------------------------------------ rounds

    def _start_height(self, node: Node, t: float) -> None:
        node.new_height()
        self._start_round(node, t)
        pending, node.pending = node.pending, []
        h = node.height
        for message in pending:
            if message.height == h and node.height == h:
                self._engine.handlers[type(message)](message, t)

    def _start_round(self, node: Node, t: float, entered_s: float | None = None) -> None:
        """``node``'s round starts now: its proposer proposes.

        Round 0 starts when the previous block is committed; a later round when the
        node holds a quorum of ROUND-CHANGEs for it (or its PRE-PREPARE arrives).
        The round's timers run from when the node entered the round (IBFT 2.0): from
        ``entered_s``, when it sent its ROUND-CHANGE for the round, else from now.
        """
        node.established = True
        node.round_start = t if entered_s is None else entered_s
        node.epoch += 1
        epoch, h, r = node.epoch, node.height, node.round
        config = node.config
        self._schedule(RoundTimer, config.round_timer_s(node.round_start, r), node.index, r, epoch)
        if self._validators[proposer_index(h, r, len(self._validators))] == node.index and node.proposed != r:
            if r == 0:
                parent_s = node.chain[-1].proposed_s if node.chain else -np.inf
                start = config.proposal_start_s(t, parent_s)
                self._schedule(Propose, config.proposal_sent_s(start), node.index, h, r, None, epoch)
            else:
                self._check_rc_quorum(node, r, t)

    def on_round_timeout(self, event: RoundTimer) -> None:
        """Round timer expired.

        In a started round the node moves on to the next round. A node still waiting
        for the ROUND-CHANGE quorum of its round re-sends its ROUND-CHANGE instead of
        running further ahead (PBFT's view-change timer), so a node that is alone
        cannot race through rounds the others would then have to catch up with; it
        enters the round again (its timers restart).
        """
        node = self._nodes[event.node]
        if event.epoch != node.epoch or not node.online:
            return
        t = event.time_s
        if node.established:
            self._enter_round(node, event.round + 1, t)
        else:
            node.round_start = t
            self._send_round_change(node, t)
            self._schedule(RoundTimer, node.config.round_timer_s(t, event.round), node.index, event.round,
                           node.epoch)

    def _enter_round(self, node: Node, r: int, t: float) -> None:
        """Move ``node`` to the higher round ``r``: send ROUND-CHANGE, await its quorum.

        The round-change rule, as in IBFT 2.0 (and the oracle): the node enters round
        ``r`` now, when it sends its ROUND-CHANGE, and the round's timer (and BigFoot's
        fast-path timer) run from now; the quorum of ROUND-CHANGEs lets the proposer
        propose but restarts no timer.
        """
        node.round = r
        node.round_start = t
        node.pp_block = None
        node.established = False
        node.epoch += 1
        self._schedule(RoundTimer, node.config.round_timer_s(t, r), node.index, r, node.epoch)
        if self._send_round_change(node, t) >= node.quorums.round_change:
            self._start_round(node, t)

    def _send_round_change(self, node: Node, t: float) -> int:
        """Broadcast ROUND-CHANGE for the node's round with its latest vote; returns the RCs held."""
        r, vr, vb = node.round, node.voted_round, node.voted_block
        self._broadcast(t, RoundChange, node, node.height, r, vb, vr)
        return node.count_round_change(node.vpos, r, vr, vb)

    def _check_rc_quorum(self, node: Node, r: int, t: float) -> None:
        """The proposer of round ``r`` proposes once it holds a quorum of ROUND-CHANGEs.

        Locking: it re-proposes the block with the highest voted round the quorum
        reports, else a fresh block.
        """
        entry = node.rc.get(r)
        if entry is None or entry[0].bit_count() < node.quorums.round_change or node.proposed == r:
            return
        node.proposed = r  # reserve: one proposal per (height, round)
        sent_s = node.config.proposal_sent_s(t)
        self._schedule(Propose, sent_s, node.index, node.height, r, entry[2], node.epoch)

    # ------------------------------------------------------------------ proposals

    def on_propose(self, event: Propose) -> None:
        """The proposer's block is ready: send the PRE-PREPARE of ``(height, round)``."""
        node = self._nodes[event.node]
        if event.epoch != node.epoch or not node.online:
            return
        t, h, r, block = event.time_s, event.height, event.round, event.block
        node.proposed = r
        if block is None:
            block = self._new_block(node, h, t)
        block.round = r
        self._ledger.log_proposal(h, r, node.index, t)
        self._broadcast(t, PrePrepare, node, h, r, block)
        self._accept_proposal(node, h, r, block, t)

    def _new_block(self, node: Node, h: int, t: float, tx0: int | None = None) -> Block:
        """Fill a fresh block with the oldest pooled transactions (assembled from ``t - create``)
        after transaction ``tx0`` (default: the node's committed chain's end)."""
        config = node.config
        tx0 = node.tx_end if tx0 is None else tx0
        arrived = self._arrivals.arrived_by(t - config.costs.create_block_s)
        tx1 = tx0 + config.block_tx(max(arrived - tx0, 0))
        switch = None
        if node.pending_switch is not None:
            switch = config.switched(**node.pending_switch)
            if switch == config:  # already in force: dropped
                node.pending_switch = switch = None
        return self._ledger.new_block(h, node.index, tx0, tx1, config, switch, t)

    def _accept_proposal(self, node: Node, h: int, r: int, block: Block, t: float) -> None:
        node.pp_block = block
        if node.voted_round != r:  # vote once per round, even across a crash
            node.voted_round, node.voted_block = r, block
            self._broadcast(t, Prepare, node, h, r, block)
            self._ledger.log_vote(node.vpos, _PREPARE, h, r, t)
        masks = node.prepares
        masks[r] = masks.get(r, 0) | (1 << node.vpos)
        self._check(node, t)

    # ------------------------------------------------------------------ messages

    # Each reaction gets the message as the engine delivers it (``t`` = its arrival),
    # or later (``t`` given) once its receiver has reached the message's height. The
    # message is unpacked once (reading a named tuple's fields by name costs more, and
    # this is the hot path); anything not for the receiver's current height and round
    # goes to ``_stray``.

    def on_prepare(self, message: Prepare, t: float | None = None) -> None:
        """A PREPARE for round ``r``; counts below the lowest threshold cannot change anything."""
        arrived_s, _, dst, src, h, r, _ = message
        node = self._nodes[dst]
        if h != node.height or r < node.round or not node.online:
            return self._stray(node, message, h, src, arrived_s if t is None else t)
        masks = node.prepares
        mask = masks[r] = masks.get(r, 0) | (1 << self._vpos[src])
        if r == node.round and node.pp_block is not None and mask.bit_count() >= node.quorums.act:
            self._check(node, arrived_s if t is None else t)

    def on_commit(self, message: Commit, t: float | None = None) -> None:
        """A COMMIT for round ``r``."""
        arrived_s, _, dst, src, h, r, _ = message
        node = self._nodes[dst]
        if h != node.height or r < node.round or not node.online:
            return self._stray(node, message, h, src, arrived_s if t is None else t)
        masks = node.commits
        mask = masks[r] = masks.get(r, 0) | (1 << self._vpos[src])
        if r == node.round and node.pp_block is not None and mask.bit_count() >= node.quorums.commit:
            self._check(node, arrived_s if t is None else t)

    def on_pre_prepare(self, message: PrePrepare, t: float | None = None) -> None:
        """The proposal ``block`` of ``(h, r)``."""
        arrived_s, _, dst, src, h, r, block = message
        node = self._nodes[dst]
        t = arrived_s if t is None else t
        if h != node.height or r < node.round or not node.online:
            return self._stray(node, message, h, src, t)
        if r > node.round or not node.established:  # the proposer held a quorum for round r
            entered_s = None if r > node.round else node.round_start  # its timer runs since it entered
            node.round = r
            node.pp_block = None
            self._start_round(node, t, entered_s)
        if node.pp_block is None:
            self._accept_proposal(node, h, r, block, t)

    def on_round_change(self, message: RoundChange, t: float | None = None) -> None:
        """A ROUND-CHANGE for round ``r``, carrying the sender's latest vote."""
        arrived_s, _, dst, src, h, r, voted_block, voted_round = message
        node = self._nodes[dst]
        t = arrived_s if t is None else t
        if h != node.height or r < node.round or not node.online:
            return self._stray(node, message, h, src, t)
        v, cur = self._vpos[src], node.round
        n = node.count_round_change(v, r, voted_round, voted_block)
        quorums = node.quorums
        if r == cur:
            if not node.established and n >= quorums.round_change:
                self._start_round(node, t, node.round_start)
            return None
        high = node.rc_high
        if r > high[v]:
            high[v] = r
        above = sorted((q for q in high if q > cur), reverse=True)
        if len(above) >= quorums.round_skip:  # f + 1 nodes are ahead: join the lowest of them
            self._enter_round(node, above[quorums.round_skip - 1], t)
        return None

    def _stray(self, node: Node, message: Any, h: int, src: int, t: float) -> None:
        """A message that is not for ``node``'s current height and round (or ``node`` is offline).

        One for the next height waits until the node gets there; one for a higher
        height tells the node it is behind (it syncs), a ROUND-CHANGE for a lower one
        that its sender is (the sender syncs from it). An old round's message is dropped.
        """
        if not node.online or h == node.height:
            return
        if h > node.height:
            if h == node.height + 1:
                node.pending.append(message)
            self._request_sync(node, self._nodes[src], t)
        elif type(message) is RoundChange:
            self._request_sync(self._nodes[src], node, t)

    # ------------------------------------------------------------------ commits

    def _check(self, node: Node, t: float) -> None:
        """Commit, or send COMMIT, if the node's current round allows it."""
        block, r, quorums = node.pp_block, node.round, node.quorums
        n_prep = node.prepares.get(r, 0).bit_count()
        if n_prep >= quorums.fast or node.commits.get(r, 0).bit_count() >= quorums.commit:
            self._commit(node, block, r, t)
            return
        epoch = node.epoch
        if n_prep >= quorums.prepare and node.sent_commit != r and node.commit_armed != epoch:
            send_at = quorums.config.commit_send_time_s(t, node.round_start, r)
            h = node.height
            if send_at <= t:
                self._send_commit(node, h, r, block, t)
                if node.commits.get(r, 0).bit_count() >= quorums.commit:
                    self._commit(node, block, r, t)
            else:
                node.commit_armed = epoch
                self._schedule(SendCommit, send_at, node.index, h, r, block, epoch)

    def on_send_commit(self, event: SendCommit) -> None:
        """The fast-path timeout passed without a fast commit: send the held-back COMMIT."""
        node = self._nodes[event.node]
        if event.epoch != node.epoch or not node.online:
            return
        self._send_commit(node, event.height, event.round, event.block, event.time_s)
        self._check(node, event.time_s)

    def _send_commit(self, node: Node, h: int, r: int, block: Block, t: float) -> None:
        node.sent_commit = r
        self._broadcast(t, Commit, node, h, r, block)
        self._ledger.log_vote(node.vpos, _COMMIT, h, r, t)
        masks = node.commits
        masks[r] = masks.get(r, 0) | (1 << node.vpos)

    def _commit(self, node: Node, block: Block, r: int, t: float, start_next: bool = True) -> None:
        """``node`` appends ``block`` (committed in round ``r``) to its chain."""
        h = node.height
        node.chain.append(block)
        node.height = h + 1
        node.tx_end = block.tx1
        if block.switch is not None:
            node.quorums = self._quorums(block.switch)
        if node.is_validator():
            if self._ledger.count_commit(h, block):
                self._finalize(block, r, node, t)
            if start_next:
                self._next_height(node, t)

    def _finalize(self, block: Block, r: int, node: Node, t: float, votes: list | None = None) -> None:
        """``block`` reached its finality quorum at ``t``: publish its record (with ``votes``
        instead of the logged ones, if given)."""
        scenario = self._scenario
        self._ledger.finalize(block, r, t, scenario.nodes, scenario.producers, self._arrivals.arrival_s,
                              votes)
        switch, proposer = block.switch, self._nodes[block.proposer]
        if switch is not None and proposer.pending_switch is not None and all(
            getattr(switch, key) == value for key, value in proposer.pending_switch.items()
        ):
            proposer.pending_switch = None
        # The final block is announced to peers (block gossip): followers, and any
        # validator still below it (e.g. one that missed a BigFoot fast-path commit,
        # which sends no COMMIT it could learn from), fetch it.
        for follower in self._followers:
            if follower.online:
                self._request_sync(follower, node, t)
        for v in self._validators:
            validator = self._nodes[v]
            # (a validator running DPoS learns DPoS blocks from their gossip; a BFT block
            # after a switch away from DPoS it must fetch, like everyone else)
            if validator.height <= block.height and validator.online and (
                    validator.dpos is None or not block.config.rules.slots):
                self._request_sync(validator, node, t)
