"""Message-level discrete-event simulator of a permissioned chain (IBFT / BigFoot).

Every PRE-PREPARE, PREPARE, COMMIT and ROUND-CHANGE is its own typed event
(:mod:`dtopt.consensus.engine`). This module is the protocol: the reactions to
each event, named after the protocol's steps (``on_pre_prepare``,
``on_prepare``, ``on_commit``, ``on_round_change``, ``on_round_timeout``...).
Node state lives in :mod:`dtopt.consensus.nodes`, blocks and finality in
:mod:`dtopt.consensus.blocks`; every quorum, timer, block-filling and message-
delay rule comes from :mod:`dtopt.consensus.protocols` and
:mod:`dtopt.consensus.config`, which the twin's oracle reads too. See
``docs/chain.md`` for the model and every modelling choice.

Public API: :class:`Chain` (``run_until``, ``view``, ``request_switch``,
``protocol``, ``now_s``) and :func:`run_chain`. The twin may read only
:meth:`Chain.view`; the other accessors (``committed_chain``, ``node_protocol``,
``node_round``...) expose hidden state for tests and must not be used by the twin.

Units: seconds, MB, MB/s.
"""

from __future__ import annotations

import bisect
import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from dtopt.consensus.arrivals import Arrivals
from dtopt.consensus.blocks import Block, Ledger
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.engine import (
    Commit,
    Engine,
    Prepare,
    PrePrepare,
    Propose,
    RegimeChange,
    RoundChange,
    RoundTimer,
    SendCommit,
    SyncDone,
)
from dtopt.consensus.metrics import ChainMetrics, chain_metrics
from dtopt.consensus.nodes import Node, Quorums
from dtopt.consensus.protocols import MessageKind, draw_jitter_s, get_protocol, proposer_index
from dtopt.consensus.scenario import Scenario
from dtopt.consensus.sync import SyncMixin
from dtopt.consensus.view import ChainView
from dtopt.errors import DtoptError

__all__ = ["Chain", "ChainRun", "run_chain"]

_KIND: Final = {PrePrepare: MessageKind.PRE_PREPARE, Prepare: MessageKind.PREPARE, Commit: MessageKind.COMMIT,
                RoundChange: MessageKind.ROUND_CHANGE}
_JITTER_BUFFER: Final = 1 << 16  # standard-exponential draws fetched from the rng at a time


class Chain(SyncMixin):
    """A permissioned chain of ``scenario.nodes`` simulated message by message.

    Parameters
    ----------
    scenario : the chain's configuration and time-varying regimes.
    protocol : consensus protocol at genesis (default: the configuration's).
    seed : seeds transaction arrivals and network jitter (separate streams, so the
        same seed gives the same transactions under either protocol).
    """

    def __init__(self, scenario: Scenario, protocol: str | None = None, seed: int = 0) -> None:
        if not isinstance(scenario, Scenario):
            raise DtoptError(f"scenario must be a Scenario, got {type(scenario).__name__}")
        self._scenario = scenario
        genesis = scenario.config if protocol is None else scenario.config.replace(protocol=protocol)
        self._quorums_of: dict[ChainConfig, Quorums] = {}
        quorums = self._quorums(genesis)
        seed = int(seed)
        self._arrivals = Arrivals(scenario, np.random.default_rng([seed, 1]))
        self._jitter = np.random.default_rng([seed, 2])
        self._jitter_buf = np.zeros(0)
        self._jitter_pos = 0

        k, m = scenario.n_nodes, scenario.n_producers
        self._validators = list(genesis.validator_index)
        self._vpos = [-1] * k
        for v, i in enumerate(self._validators):
            self._vpos[i] = v
        self._nodes = [Node(i, self._vpos[i], quorums, m) for i in range(k)]
        self._followers = [n for n in self._nodes if n.vpos < 0]
        prop = np.asarray(genesis.propagation_s, dtype=float)
        self._prop = prop.tolist()
        validators = np.array(self._validators, dtype=np.int64)
        self._others = [validators[validators != i] for i in range(k)]
        self._prop_rows = [prop[i, self._others[i]] for i in range(k)]
        self._bandwidth = np.ones(k)
        self._jitter_s = 0.0
        self._online_np = np.ones(k, dtype=bool)
        self._ledger = Ledger(genesis, quorums.finality)
        self._msg_count = dict.fromkeys(MessageKind, 0)

        self._engine = Engine({
            PrePrepare: self._on_message, Prepare: self._on_message, Commit: self._on_message,
            RoundChange: self._on_message, RoundTimer: self.on_round_timeout, SendCommit: self.on_send_commit,
            Propose: self.on_propose, SyncDone: self.on_sync_done, RegimeChange: self.on_regime_change,
        })
        self._schedule = self._engine.schedule
        for index, regime in enumerate(scenario.regimes[1:], start=1):
            self._schedule(RegimeChange, regime.start_s, index)
        self._apply_regime(0)
        for i in self._validators:
            if self._nodes[i].online:
                self._start_height(self._nodes[i], 0.0)

    # ------------------------------------------------------------------ public API

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def now_s(self) -> float:
        """Current simulated time (s)."""
        return self._engine.now_s

    @property
    def protocol(self) -> str:
        """Protocol in force at the head of the finalized chain (for the next block)."""
        return self._ledger.head_config.protocol

    @property
    def config(self) -> ChainConfig:
        """Configuration in force at the head of the finalized chain (for the next block)."""
        return self._ledger.head_config

    @property
    def safety_violations(self) -> int:
        return self._ledger.safety_violations

    def run_until(self, t_s: float) -> None:
        """Advance the simulation to chain time ``t_s`` (processing every event up to it)."""
        t_s = float(t_s)
        if not np.isfinite(t_s):
            raise DtoptError(f"run_until needs a finite time, got {t_s!r}")
        if t_s < self.now_s:
            return
        self._arrivals.ensure(t_s)
        self._engine.run_until(t_s)

    def view(self, start_s: float, end_s: float) -> ChainView:
        """The outside view of ``[start_s, end_s)`` (capped at :attr:`now_s`).

        Transactions that arrived in the window and blocks that became final in it
        (a quorum of validators committed them), nothing else.
        """
        start_s, end_s = float(start_s), float(end_s)
        if not (np.isfinite(start_s) and np.isfinite(end_s)) or end_s < start_s:
            raise DtoptError(f"view needs a finite window with start <= end, got [{start_s}, {end_s})")
        end_s = min(end_s, self.now_s)
        arrival_s = self._arrivals.arrival_s
        lo, hi = np.searchsorted(arrival_s, [start_s, end_s], side="left")
        hi = max(hi, lo)
        committed_s = self._ledger.committed_s
        b_lo = bisect.bisect_left(committed_s, start_s)
        b_hi = bisect.bisect_left(committed_s, end_s)
        return ChainView(
            start_s=start_s,
            end_s=max(end_s, start_s),
            validators=tuple(self._scenario.producers),
            tx_ids=np.arange(lo, hi, dtype=np.int64),
            tx_arrival_s=arrival_s[lo:hi].copy(),
            blocks=tuple(self._ledger.records[b_lo:b_hi]),
        )

    def request_switch(self, protocol: str, producer: str) -> None:
        """Ask the trusted block producer ``producer`` to carry a protocol switch.

        The producer puts it in its next fresh proposal; the switch takes effect on
        every node from the height after that block once the block is committed. A
        request for the protocol already in force when the producer proposes is dropped.
        """
        name = get_protocol(protocol).name
        if producer not in self._scenario.producers:
            raise DtoptError(
                f"unknown block producer {producer!r}; choose one of {', '.join(self._scenario.producers)}"
            )
        self._nodes[self._scenario.nodes.index(producer)].pending_switch = {"protocol": name}

    # Internal state for tests and diagnostics (NOT part of the twin-facing view).

    def committed_chain(self, node: str) -> tuple[int, ...]:
        """Ids of the blocks ``node`` has committed, by height (hidden state, for tests)."""
        return tuple(b.id for b in self._node(node).chain)

    def node_protocol(self, node: str) -> str:
        """Protocol ``node`` runs at its current height (hidden state, for tests)."""
        return self._node(node).config.protocol

    def node_round(self, node: str) -> int:
        """``node``'s current consensus round (hidden state, for tests)."""
        return self._node(node).round

    def node_syncing(self, node: str) -> bool:
        """Whether ``node`` is online and fetching blocks it misses (hidden state, for tests)."""
        state = self._node(node)
        return state.online and state.syncing

    def block_protocol(self, block_id: int) -> str:
        """Protocol under which block ``block_id`` was proposed (hidden state, for tests)."""
        return self._ledger.blocks[block_id].config.protocol

    @property
    def messages_sent(self) -> dict[str, int]:
        """Consensus messages sent so far, per kind (hidden state, for tests)."""
        return {kind.value: n for kind, n in self._msg_count.items()}

    def _node(self, node: str) -> Node:
        try:
            return self._nodes[self._scenario.nodes.index(node)]
        except ValueError:
            raise DtoptError(f"unknown node {node!r}") from None

    # ------------------------------------------------------------------ plumbing

    def _quorums(self, config: ChainConfig) -> Quorums:
        quorums = self._quorums_of.get(config)
        if quorums is None:
            quorums = self._quorums_of[config] = Quorums.of(config)
        return quorums

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
        self._msg_count[kind] += n
        pos = self._jitter_pos
        if pos + n > len(self._jitter_buf):
            self._jitter_buf = draw_jitter_s(self._jitter, 1.0, _JITTER_BUFFER)
            pos = 0
        self._jitter_pos = pos + n
        jitter = self._jitter_buf[pos:pos + n] * self._jitter_s
        bandwidth = self._bandwidth
        block_mb = block.size_mb if block is not None else 0.0
        delay = node.quorums.config.message_delay_s(
            kind, block_mb, bandwidth[s], bandwidth[dst], self._prop_rows[s][online], jitter
        )
        queue, seq, push = self._engine.queue, self._engine.seq, heapq.heappush
        if voted_round is None:
            for d, arrive in zip(dst.tolist(), (t + delay).tolist(), strict=True):
                push(queue, event(arrive, next(seq), d, s, h, r, block))
        else:
            for d, arrive in zip(dst.tolist(), (t + delay).tolist(), strict=True):
                push(queue, event(arrive, next(seq), d, s, h, r, block, voted_round))

    def _log_vote(self, node: Node, kind: MessageKind, h: int, r: int, t: float) -> None:
        self._ledger.log_vote(node.vpos, kind.value, h, r, t)

    # ------------------------------------------------------------------ regimes

    def on_regime_change(self, event: RegimeChange) -> None:
        self._apply_regime(event.index)

    def _apply_regime(self, k: int) -> None:
        scenario = self._scenario
        regime = scenario.regimes[k]
        self._bandwidth = np.asarray(regime.bandwidth_mbps, dtype=float)
        self._jitter_s = regime.jitter_s
        offline = {scenario.nodes.index(name) for name in regime.offline}
        t = self.now_s
        for node in self._nodes:
            down = node.index in offline
            if down == (not node.online):
                continue
            self._online_np[node.index] = not down
            if down:
                node.crash()
            else:
                node.recover()
                self._come_back(node, t)

    def _come_back(self, node: Node, t: float) -> None:
        """A node returns: it restarts its round (volatile state lost) and syncs."""
        if node.is_validator():
            if node.established:
                self._start_round(node, t)
            else:
                self._enter_round(node, node.round, t)
        peers = [p for p in self._nodes if p is not node and p.online]
        if peers:
            best = max(peers, key=lambda p: (p.height, -p.index))
            if best.height > node.height:
                self._request_sync(node, best, t)

    # ------------------------------------------------------------------ rounds

    def _start_height(self, node: Node, t: float) -> None:
        node.new_height()
        self._start_round(node, t)
        pending, node.pending = node.pending, []
        h = node.height
        for message in pending:
            if message.height == h and node.online and node.height == h:
                self._deliver(node, message, t)

    def _start_round(self, node: Node, t: float) -> None:
        """``node``'s round starts now: arm the round timer; its proposer proposes.

        Round 0 starts when the previous block is committed; a later round when the
        node holds a quorum of ROUND-CHANGEs for it (or its PRE-PREPARE arrives).
        """
        node.established = True
        node.round_start = t
        node.epoch += 1
        epoch, h, r = node.epoch, node.height, node.round
        config = node.config
        self._schedule(RoundTimer, config.round_timer_s(t), node.index, r, epoch)
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
        cannot race through rounds the others would then have to catch up with.
        """
        node = self._nodes[event.node]
        if event.epoch != node.epoch or not node.online:
            return
        t = event.time_s
        if node.established:
            self._enter_round(node, event.round + 1, t)
        else:
            self._send_round_change(node, t)
            self._schedule(RoundTimer, node.config.round_timer_s(t), node.index, event.round, node.epoch)

    def _enter_round(self, node: Node, r: int, t: float) -> None:
        """Move ``node`` to the higher round ``r``: send ROUND-CHANGE, await its quorum."""
        node.round = r
        node.pp_block = None
        node.established = False
        node.epoch += 1
        self._schedule(RoundTimer, node.config.round_timer_s(t), node.index, r, node.epoch)
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

    def _new_block(self, node: Node, h: int, t: float) -> Block:
        """Fill a fresh block with the oldest pooled transactions (assembled from ``t - create``)."""
        config = node.config
        tx0 = node.tx_end
        arrived = self._arrivals.arrived_by(t - config.costs.create_block_s)
        tx1 = tx0 + config.block_tx(max(arrived - tx0, 0))
        switch = None
        if node.pending_switch is not None:
            switch = config.replace(**node.pending_switch)
            if switch == config:  # already in force: dropped
                node.pending_switch = switch = None
        return self._ledger.new_block(h, node.index, tx0, tx1, config, switch, t)

    def _accept_proposal(self, node: Node, h: int, r: int, block: Block, t: float) -> None:
        node.pp_block = block
        if node.voted_round != r:  # vote once per round, even across a crash
            node.voted_round, node.voted_block = r, block
            self._broadcast(t, Prepare, node, h, r, block)
            self._log_vote(node, MessageKind.PREPARE, h, r, t)
        masks = node.prepares
        masks[r] = masks.get(r, 0) | (1 << node.vpos)
        self._check(node, t)

    # ------------------------------------------------------------------ messages

    def _on_message(self, message: Any) -> None:
        node = self._nodes[message.dst]
        if node.online:
            self._deliver(node, message, message.time_s)

    def _deliver(self, node: Node, message: Any, t: float) -> None:
        """A consensus message has reached (and been validated by) ``node``."""
        h = message.height
        if h != node.height:
            if h > node.height:
                if h == node.height + 1:
                    node.pending.append(message)
                self._request_sync(node, self._nodes[message.src], t)
            elif type(message) is RoundChange:
                self._request_sync(self._nodes[message.src], node, t)  # the sender is stuck at an old height
            return
        if message.round < node.round:
            return
        kind = type(message)
        if kind is Prepare:
            self.on_prepare(node, message, t)
        elif kind is Commit:
            self.on_commit(node, message, t)
        elif kind is PrePrepare:
            self.on_pre_prepare(node, message, t)
        else:
            self.on_round_change(node, message, t)

    # Counts below the lowest threshold cannot change anything: skip the full check.

    def on_prepare(self, node: Node, message: Prepare, t: float) -> None:
        r, masks = message.round, node.prepares
        mask = masks[r] = masks.get(r, 0) | (1 << self._vpos[message.src])
        if r == node.round and node.pp_block is not None and mask.bit_count() >= node.quorums.act:
            self._check(node, t)

    def on_commit(self, node: Node, message: Commit, t: float) -> None:
        r, masks = message.round, node.commits
        mask = masks[r] = masks.get(r, 0) | (1 << self._vpos[message.src])
        if r == node.round and node.pp_block is not None and mask.bit_count() >= node.quorums.commit:
            self._check(node, t)

    def on_pre_prepare(self, node: Node, message: PrePrepare, t: float) -> None:
        r = message.round
        if r > node.round or not node.established:  # the proposer held a quorum for round r
            node.round = r
            node.pp_block = None
            self._start_round(node, t)
        if node.pp_block is None:
            self._accept_proposal(node, message.height, r, message.block, t)

    def on_round_change(self, node: Node, message: RoundChange, t: float) -> None:
        v, r, cur = self._vpos[message.src], message.round, node.round
        n = node.count_round_change(v, r, message.voted_round, message.voted_block)
        quorums = node.quorums
        if r == cur:
            if not node.established and n >= quorums.round_change:
                self._start_round(node, t)
            return
        high = node.rc_high
        if r > high[v]:
            high[v] = r
        above = sorted((q for q in high if q > cur), reverse=True)
        if len(above) >= quorums.round_skip:  # f + 1 nodes are ahead: join the lowest of them
            self._enter_round(node, above[quorums.round_skip - 1], t)

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
            send_at = quorums.config.commit_send_time_s(t, node.round_start)
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
        self._log_vote(node, MessageKind.COMMIT, h, r, t)
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
                self._start_height(node, t)

    def _finalize(self, block: Block, r: int, node: Node, t: float) -> None:
        """``block`` reached its finality quorum at ``t``: publish its record."""
        scenario = self._scenario
        self._ledger.finalize(block, r, t, scenario.nodes, scenario.producers, self._arrivals.arrival_s)
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
            if validator.height <= block.height and validator.online:
                self._request_sync(validator, node, t)


@dataclass(frozen=True, eq=False)
class ChainRun:
    """The result of :func:`run_chain`.

    Attributes
    ----------
    view : outside view of the whole run ``[0, duration_s)``.
    metrics : :func:`~dtopt.consensus.metrics.chain_metrics` of that view.
    chain : the simulator at the end of the run (hidden state; tests only).
    runtime_s : wall-clock time the simulation took (s).
    """

    view: ChainView
    metrics: ChainMetrics
    chain: Chain
    runtime_s: float


def run_chain(
    scenario: Scenario,
    protocol: str | None = None,
    duration_s: float = 1000.0,
    seed: int = 0,
    controller: Callable[[Chain, float], None] | None = None,
) -> ChainRun:
    """Simulate ``duration_s`` seconds of chain time (``protocol`` default: the configuration's).

    ``controller(chain, t_s)``, if given, is called every ``scenario.twin_interval_s``
    of chain time (at t = TI, 2 TI, ... < duration); the twin reads ``chain.view``
    and may call ``chain.request_switch`` there.
    """
    duration_s = float(duration_s)
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise DtoptError(f"duration_s must be a finite number > 0, got {duration_s!r}")
    start = time.perf_counter()
    chain = Chain(scenario, protocol, seed)
    if controller is not None:
        step = scenario.twin_interval_s
        for k in range(1, int(np.ceil(duration_s / step))):
            chain.run_until(k * step)
            controller(chain, k * step)
    chain.run_until(duration_s)
    view = chain.view(0.0, duration_s)
    runtime_s = time.perf_counter() - start
    return ChainRun(view=view, metrics=chain_metrics(view, duration_s), chain=chain, runtime_s=runtime_s)
