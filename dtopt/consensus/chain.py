"""Message-level discrete-event simulator of a permissioned chain (IBFT / BigFoot).

Every PRE-PREPARE, PREPARE, COMMIT and ROUND-CHANGE is its own event on a heap of
plain tuples ``(time_s, seq, kind, dst, src, height, round, block, extra)``. The
protocol rules (quorums, fast path, when a COMMIT is sent, block finality, message
sizes and delays) come from :mod:`dtopt.consensus.protocols`; this module only
schedules them. See ``docs/chain.md`` for the model and every modelling choice.

Public API: :class:`Chain` (``run_until``, ``view``, ``request_switch``,
``protocol``, ``now_s``) and :func:`run_chain`. The twin may read only
:meth:`Chain.view`; the other accessors (``committed_chain``, ``node_protocol``,
``node_round``...) expose hidden state for tests and must not be used by the twin.

Units: seconds, MB, MB/s.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from dtopt.consensus.limits import check_duration, check_run_size, check_seed
from dtopt.consensus.metrics import ChainMetrics, chain_metrics
from dtopt.consensus.protocols import (
    PROTOCOLS,
    MessageKind,
    block_size_mb,
    draw_jitter_s,
    message_delay_s,
    proposer_index,
)
from dtopt.consensus.scenario import Scenario
from dtopt.consensus.view import BlockRecord, ChainView, VoteRecord
from dtopt.errors import DtoptError

__all__ = ["Chain", "ChainRun", "run_chain"]

# Event kinds (ints: cheap to compare; messages first, then local events).
_PP, _PREPARE, _COMMIT, _RC, _TIMER, _SEND_COMMIT, _PROPOSE, _SYNC, _REGIME = range(9)
_MESSAGE_KINDS: Final = (MessageKind.PRE_PREPARE, MessageKind.PREPARE, MessageKind.COMMIT,
                         MessageKind.ROUND_CHANGE)
_PHASE_NAMES: Final = {_PREPARE: MessageKind.PREPARE.value, _COMMIT: MessageKind.COMMIT.value}

_JITTER_BUFFER: Final = 1 << 16  # standard-exponential draws fetched from the rng at a time
_TX_CHUNK_S: Final = 200.0  # transaction arrivals are generated in chunks of this length (s)


class Chain:
    """A permissioned chain of ``scenario.nodes`` simulated message by message.

    Parameters
    ----------
    scenario : the chain's configuration and time-varying regimes.
    protocol : consensus protocol at genesis (``"IBFT"`` or ``"BigFoot"``).
    seed : seeds transaction arrivals and network jitter (separate streams, so the
        same seed gives the same transactions under either protocol).

    Attributes
    ----------
    now_s : current simulated time (s).
    """

    __slots__ = (
        "_act_q",
        "_arrival_s",
        "_b_height",
        "_b_proposed_s",
        "_b_proposer",
        "_b_protocol",
        "_b_round",
        "_b_size",
        "_b_switch",
        "_b_tx0",
        "_b_tx1",
        "_bandwidth",
        "_canonical",
        "_chain",
        "_commit_armed",
        "_commit_q",
        "_commits",
        "_committed_at",
        "_costs",
        "_epoch",
        "_established",
        "_fast_q",
        "_final_count",
        "_final_q",
        "_finalized_height",
        "_followers",
        "_head_protocol",
        "_height",
        "_jitter",
        "_jitter_buf",
        "_jitter_pos",
        "_jitter_s",
        "_msg_count",
        "_names",
        "_online",
        "_online_np",
        "_others",
        "_pending",
        "_pending_switch",
        "_pp_block",
        "_prep_q",
        "_prepares",
        "_prop",
        "_prop_rows",
        "_proposed",
        "_protocol_idx",
        "_queue",
        "_rc",
        "_rc_high",
        "_rc_q",
        "_records",
        "_round",
        "_round_start",
        "_rules",
        "_scenario",
        "_sent_commit",
        "_seq",
        "_skip_q",
        "_syncing",
        "_tx_end",
        "_tx_rng",
        "_tx_until_s",
        "_validators",
        "_vote_log",
        "_voted_block",
        "_voted_round",
        "_vpos",
        "now_s",
        "safety_violations",
    )

    def __init__(self, scenario: Scenario, protocol: str = "IBFT", seed: int = 0) -> None:
        if not isinstance(scenario, Scenario):
            raise DtoptError(f"scenario must be a Scenario, got {type(scenario).__name__}")
        self._scenario = scenario
        self._names: list[str] = list(PROTOCOLS)
        self._rules = [scenario.rules(name) for name in self._names]
        start_protocol = self._names.index(scenario.rules(protocol).name)
        seed = check_seed(seed)
        self._tx_rng = np.random.default_rng([seed, 1])
        self._jitter = np.random.default_rng([seed, 2])
        self._jitter_buf = np.zeros(0)
        self._jitter_pos = 0

        k = scenario.n_nodes
        index = {name: i for i, name in enumerate(scenario.nodes)}
        self._validators = [index[p] for p in scenario.producers]
        self._vpos = [-1] * k
        for v, i in enumerate(self._validators):
            self._vpos[i] = v
        self._followers = [i for i in range(k) if self._vpos[i] < 0]
        m = len(self._validators)
        # Thresholds read off the rules once (they are monotone in the count).
        self._fast_q = [
            next((c for c in range(m + 1) if r.commits_on_prepares(c, m)), m + 1) for r in self._rules
        ]
        self._prep_q = [next(c for c in range(m + 1) if r.sends_commit(c, np.inf, m)) for r in self._rules]
        self._act_q = [min(fast, prep) for fast, prep in zip(self._fast_q, self._prep_q, strict=True)]
        self._commit_q = self._rules[0].commit_quorum(m)
        self._rc_q = self._rules[0].round_change_quorum(m)
        self._skip_q = self._rules[0].round_skip_quorum(m)
        self._final_q = self._rules[0].block_finality_quorum(m)
        costs = scenario.costs
        self._costs = costs

        prop = np.asarray(scenario.propagation_s, dtype=float)
        self._prop = prop.tolist()
        validators = np.array(self._validators, dtype=np.int64)
        self._others = [validators[validators != i] for i in range(k)]
        self._prop_rows = [prop[i, self._others[i]] for i in range(k)]
        self._bandwidth = np.ones(k)
        self._jitter_s = 0.0
        self._online = [True] * k
        self._online_np = np.ones(k, dtype=bool)

        # Per-node consensus state. Height, round, vote lock and the proposal/commit
        # flags are persistent (survive going offline); counters and timers are volatile.
        self._height = [0] * k
        self._round = [0] * k
        self._round_start = [0.0] * k
        self._epoch = [0] * k
        self._voted_round = [-1] * k
        self._voted_block = [-1] * k
        self._proposed = [-1] * k
        self._sent_commit = [-1] * k  # round whose COMMIT was sent
        self._commit_armed = [-1] * k  # epoch in which a delayed COMMIT (fast-path timeout) is scheduled
        self._pp_block = [-1] * k
        self._prepares: list[dict[int, int]] = [{} for _ in range(k)]  # round -> sender bitmask
        self._commits: list[dict[int, int]] = [{} for _ in range(k)]
        self._rc: list[dict[int, list[int]]] = [{} for _ in range(k)]  # round -> [mask, best_r, best_b]
        self._rc_high: list[list[int]] = [[-1] * m for _ in range(k)]  # highest RC round per sender
        self._established = [True] * k  # whether the current round started (else awaiting RC quorum)
        self._pending: list[list[tuple]] = [[] for _ in range(k)]  # messages for height + 1
        self._syncing = [False] * k
        self._chain: list[list[int]] = [[] for _ in range(k)]
        self._tx_end = [0] * k
        self._protocol_idx = [start_protocol] * k
        self._pending_switch = [-1] * k

        # Blocks (global table, indexed by block id).
        self._b_height: list[int] = []
        self._b_proposer: list[int] = []
        self._b_round: list[int] = []
        self._b_tx0: list[int] = []
        self._b_tx1: list[int] = []
        self._b_size: list[float] = []
        self._b_switch: list[int] = []
        self._b_protocol: list[int] = []
        self._b_proposed_s: list[float] = []
        # Finality: per height the first committed block, the commit count, the records.
        self._canonical: list[int] = []
        self._final_count: list[int] = []
        self._finalized_height = 0
        self._head_protocol = start_protocol
        self._records: list[BlockRecord] = []
        self._committed_at: list[float] = []
        # height -> round -> [proposer, proposed_s, [(validator, kind, sent_s), ...]]
        self._vote_log: dict[int, dict[int, list]] = {}
        self.safety_violations = 0
        self._msg_count = [0, 0, 0, 0]

        self._arrival_s = np.zeros(0)
        self._tx_until_s = 0.0
        self._queue: list[tuple] = []
        self._seq = itertools.count()
        self.now_s = 0.0
        for r_idx, regime in enumerate(scenario.regimes[1:], start=1):
            self._push(regime.start_s, _REGIME, -1, -1, -1, -1, -1, r_idx)
        self._apply_regime(0, first=True)
        for i in self._validators:
            if self._online[i]:
                self._start_height(i, 0.0)

    # ------------------------------------------------------------------ public API

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def protocol(self) -> str:
        """Protocol in force at the head of the finalized chain (for the next block)."""
        return self._names[self._head_protocol]

    def run_until(self, t_s: float) -> None:
        """Advance the simulation to chain time ``t_s`` (processing every event up to it)."""
        t_s = float(t_s)
        if not np.isfinite(t_s):
            raise DtoptError(f"run_until needs a finite time, got {t_s!r}")
        if t_s < self.now_s:
            return
        check_run_size(self._scenario, max(t_s, _TX_CHUNK_S))  # before any arrival is drawn
        self._ensure_tx(t_s + _TX_CHUNK_S)
        queue = self._queue
        pop = heapq.heappop
        deliver = self._deliver
        while queue and queue[0][0] <= t_s:
            t, _, kind, i, j, h, r, b, x = pop(queue)
            self.now_s = t
            if kind <= _RC:
                if self._online[i]:
                    deliver(t, kind, i, j, h, r, b, x)
            elif kind == _TIMER:
                if x == self._epoch[i] and self._online[i]:
                    self._timeout(i, r, t)
            elif kind == _SEND_COMMIT:
                if x == self._epoch[i] and self._online[i]:
                    self._send_commit(i, h, r, b, t)
                    self._check(i, t)
            elif kind == _PROPOSE:
                if x == self._epoch[i] and self._online[i]:
                    self._propose(i, h, r, b, t)
            elif kind == _SYNC:
                self._sync_delivered(i, j, h, t)
            else:
                self._apply_regime(x)
        self.now_s = t_s

    def view(self, start_s: float, end_s: float) -> ChainView:
        """The outside view of ``[start_s, end_s)`` (capped at :attr:`now_s`).

        Transactions that arrived in the window and blocks that became final in it
        (a quorum of validators committed them), nothing else.
        """
        start_s, end_s = float(start_s), float(end_s)
        if not (np.isfinite(start_s) and np.isfinite(end_s)) or end_s < start_s:
            raise DtoptError(f"view needs a finite window with start <= end, got [{start_s}, {end_s})")
        end_s = min(end_s, self.now_s)
        lo, hi = np.searchsorted(self._arrival_s, [start_s, end_s], side="left")
        if hi < lo:
            hi = lo
        b_lo = bisect.bisect_left(self._committed_at, start_s)
        b_hi = bisect.bisect_left(self._committed_at, end_s)
        return ChainView(
            start_s=start_s,
            end_s=max(end_s, start_s),
            validators=tuple(self._scenario.producers),
            tx_ids=np.arange(lo, hi, dtype=np.int64),
            tx_arrival_s=self._arrival_s[lo:hi].copy(),
            blocks=tuple(self._records[b_lo:b_hi]),
        )

    def request_switch(self, protocol: str, producer: str) -> None:
        """Ask the trusted block producer ``producer`` to carry a protocol switch.

        The producer puts it in its next fresh proposal; the switch takes effect on
        every node from the height after that block once the block is committed. A
        request for the protocol already in force when the producer proposes is dropped.
        """
        target = self._names.index(self._scenario.rules(protocol).name)
        if producer not in self._scenario.producers:
            raise DtoptError(
                f"unknown block producer {producer!r}; choose one of {', '.join(self._scenario.producers)}"
            )
        self._pending_switch[self._scenario.nodes.index(producer)] = target

    # Internal state for tests and diagnostics (NOT part of the twin-facing view).

    def committed_chain(self, node: str) -> tuple[int, ...]:
        """Ids of the blocks ``node`` has committed, by height (hidden state, for tests)."""
        return tuple(self._chain[self._node_index(node)])

    def node_protocol(self, node: str) -> str:
        """Protocol ``node`` runs at its current height (hidden state, for tests)."""
        return self._names[self._protocol_idx[self._node_index(node)]]

    def node_round(self, node: str) -> int:
        """``node``'s current consensus round (hidden state, for tests)."""
        return self._round[self._node_index(node)]

    def node_syncing(self, node: str) -> bool:
        """Whether ``node`` is online and fetching blocks it misses (hidden state, for tests)."""
        i = self._node_index(node)
        return self._online[i] and self._syncing[i]

    def block_protocol(self, block_id: int) -> str:
        """Protocol under which block ``block_id`` was proposed (hidden state, for tests)."""
        return self._names[self._b_protocol[block_id]]

    @property
    def messages_sent(self) -> dict[str, int]:
        """Consensus messages sent so far, per kind (hidden state, for tests)."""
        return {kind.value: n for kind, n in zip(_MESSAGE_KINDS, self._msg_count, strict=True)}

    def _node_index(self, node: str) -> int:
        try:
            return self._scenario.nodes.index(node)
        except ValueError:
            raise DtoptError(f"unknown node {node!r}") from None

    # ------------------------------------------------------------------ plumbing

    def _push(self, t: float, kind: int, i: int, j: int, h: int, r: int, b: int, x: int) -> None:
        heapq.heappush(self._queue, (t, next(self._seq), kind, i, j, h, r, b, x))

    def _ensure_tx(self, until_s: float) -> None:
        """Generate Poisson arrivals up to ``until_s`` (piecewise constant rate per regime).

        Arrivals are drawn chunk by chunk on a fixed grid of ``_TX_CHUNK_S`` (split at
        regime starts), so the stream depends on the seed only, never on how
        ``run_until`` was stepped (a twin-managed run sees the same transactions as a
        static one).
        """
        if until_s <= self._tx_until_s:
            return
        scenario, parts = self._scenario, [self._arrival_s]
        t = self._tx_until_s
        until_s = np.ceil(until_s / _TX_CHUNK_S) * _TX_CHUNK_S
        while t < until_s:
            k = scenario.regime_index(t)
            end = scenario.regimes[k + 1].start_s if k + 1 < len(scenario.regimes) else np.inf
            end = min(end, (np.floor(t / _TX_CHUNK_S) + 1) * _TX_CHUNK_S)
            n = self._tx_rng.poisson(scenario.regimes[k].tx_rate_per_s * (end - t))
            parts.append(np.sort(self._tx_rng.uniform(t, end, n)))
            t = end
        self._arrival_s = np.concatenate(parts)
        self._tx_until_s = until_s

    def _broadcast(self, t: float, kind: int, s: int, h: int, r: int, b: int, x: int, size_mb: float) -> None:
        """Send one message from ``s`` to every other online validator (one event each)."""
        online = self._online_np[self._others[s]]
        dst = self._others[s][online].tolist()
        n = len(dst)
        if not n:
            return
        self._msg_count[kind] += n
        pos = self._jitter_pos
        if pos + n > len(self._jitter_buf):
            self._jitter_buf = draw_jitter_s(self._jitter, 1.0, _JITTER_BUFFER)
            pos = 0
        self._jitter_pos = pos + n
        jitter = self._jitter_buf[pos:pos + n] * self._jitter_s
        validation = self._costs.validation_s(_MESSAGE_KINDS[kind])
        delay = message_delay_s(size_mb, self._bandwidth[s], self._prop_rows[s][online], validation, jitter)
        queue, seq, push = self._queue, self._seq, heapq.heappush
        for d, arrive in zip(dst, (t + delay).tolist(), strict=True):
            push(queue, (arrive, next(seq), kind, d, s, h, r, b, x))

    def _log_vote(self, i: int, kind: int, h: int, r: int, t: float) -> None:
        if h >= self._finalized_height:
            rounds = self._vote_log.setdefault(h, {})
            rounds.setdefault(r, [-1, 0.0, []])[2].append((self._vpos[i], kind, t))

    # ------------------------------------------------------------------ regimes

    def _apply_regime(self, k: int, first: bool = False) -> None:
        scenario = self._scenario
        regime = scenario.regimes[k]
        self._bandwidth = np.asarray(regime.bandwidth_mbps, dtype=float)
        self._jitter_s = regime.jitter_s
        offline = {scenario.nodes.index(name) for name in regime.offline}
        t = self.now_s
        for i in range(scenario.n_nodes):
            down = i in offline
            if down == (not self._online[i]):
                continue
            self._online[i] = not down
            self._online_np[i] = not down
            self._epoch[i] += 1  # invalidates its timers and scheduled sends
            if down:
                self._syncing[i] = False
                self._pending[i] = []
            elif not first:
                self._come_back(i, t)

    def _come_back(self, i: int, t: float) -> None:
        """A node returns: volatile state is lost, it restarts its round and syncs."""
        r, own = self._round[i], 1 << max(self._vpos[i], 0)
        # its own votes of this round are on disk, the ones it received are not
        self._prepares[i] = {r: own} if self._voted_round[i] == r else {}
        self._commits[i] = {r: own} if self._sent_commit[i] == r else {}
        self._rc[i] = {}
        self._rc_high[i] = [-1] * len(self._validators)
        self._pp_block[i] = -1
        if self._vpos[i] >= 0:
            if self._established[i]:
                self._start_round(i, t)
            else:
                self._enter_round(i, self._round[i], t)
        peers = [j for j in range(self._scenario.n_nodes) if j != i and self._online[j]]
        if peers:
            best = max(peers, key=lambda j: (self._height[j], -j))
            if self._height[best] > self._height[i]:
                self._request_sync(i, best, t)

    # ------------------------------------------------------------------ consensus

    def _start_height(self, i: int, t: float) -> None:
        self._round[i] = 0
        self._voted_round[i] = self._voted_block[i] = -1
        self._proposed[i] = self._sent_commit[i] = -1
        self._pp_block[i] = -1
        self._prepares[i], self._commits[i], self._rc[i] = {}, {}, {}
        self._rc_high[i] = [-1] * len(self._validators)
        self._start_round(i, t)
        pending, self._pending[i] = self._pending[i], []
        h = self._height[i]
        for kind, j, mh, r, b, x in pending:
            if mh == h and self._online[i] and self._height[i] == h:
                self._deliver(t, kind, i, j, mh, r, b, x)

    def _start_round(self, i: int, t: float) -> None:
        """Node ``i``'s round starts now: arm the round timer; its proposer proposes.

        Round 0 starts when the previous block is committed; a later round when the
        node holds a quorum of ROUND-CHANGEs for it (or its PRE-PREPARE arrives).
        """
        self._established[i] = True
        self._round_start[i] = t
        self._epoch[i] += 1
        epoch, h, r = self._epoch[i], self._height[i], self._round[i]
        scenario = self._scenario
        self._push(t + scenario.round_timeout_s, _TIMER, i, i, h, r, -1, epoch)
        if self._is_proposer(i, h, r) and self._proposed[i] != r:
            if r == 0:
                chain = self._chain[i]
                parent_s = self._b_proposed_s[chain[-1]] if chain else -np.inf
                ready = max(t, parent_s + scenario.min_block_interval_s)
                self._push(ready + self._costs.create_block_s, _PROPOSE, i, i, h, r, -1, epoch)
            else:
                self._check_rc_quorum(i, r, t)

    def _is_proposer(self, i: int, h: int, r: int) -> bool:
        return self._validators[proposer_index(h, r, len(self._validators))] == i

    def _timeout(self, i: int, r: int, t: float) -> None:
        """Round timer of node ``i`` expired.

        In a started round it moves on to the next round. A node still waiting for
        the ROUND-CHANGE quorum of its round re-sends its ROUND-CHANGE instead of
        running further ahead (PBFT's view-change timer), so a node that is alone
        cannot race through rounds the others would then have to catch up with.
        """
        if self._established[i]:
            self._enter_round(i, r + 1, t)
        else:
            self._send_rc(i, t)
            timeout_s = self._scenario.round_timeout_s
            self._push(t + timeout_s, _TIMER, i, i, self._height[i], r, -1, self._epoch[i])

    def _enter_round(self, i: int, r: int, t: float) -> None:
        """Move node ``i`` to the higher round ``r``: send ROUND-CHANGE, await its quorum."""
        self._round[i] = r
        self._pp_block[i] = -1
        self._established[i] = False
        self._epoch[i] += 1
        self._push(t + self._scenario.round_timeout_s, _TIMER, i, i, self._height[i], r, -1, self._epoch[i])
        if self._send_rc(i, t) >= self._rc_q:
            self._start_round(i, t)

    def _send_rc(self, i: int, t: float) -> int:
        """Broadcast ROUND-CHANGE for ``i``'s round with its latest vote; returns the RCs held."""
        r, vr, vb = self._round[i], self._voted_round[i], self._voted_block[i]
        self._broadcast(t, _RC, i, self._height[i], r, vb, vr, self._costs.vote_size_mb)
        return self._count_rc(i, self._vpos[i], r, vr, vb)

    def _count_rc(self, i: int, v: int, r: int, voted_r: int, voted_b: int) -> int:
        entry = self._rc[i].get(r)
        if entry is None:
            entry = self._rc[i][r] = [0, -1, -1]
        entry[0] |= 1 << v
        if voted_r > entry[1]:
            entry[1], entry[2] = voted_r, voted_b
        return entry[0].bit_count()

    def _check_rc_quorum(self, i: int, r: int, t: float) -> None:
        """The proposer of round ``r`` proposes once it holds a quorum of ROUND-CHANGEs.

        Locking: it re-proposes the block with the highest voted round the quorum
        reports, else a fresh block.
        """
        entry = self._rc[i].get(r)
        if entry is None or entry[0].bit_count() < self._rc_q or self._proposed[i] == r:
            return
        self._proposed[i] = r  # reserve: one proposal per (height, round)
        h, ready = self._height[i], t + self._costs.create_block_s
        self._push(ready, _PROPOSE, i, i, h, r, entry[2], self._epoch[i])

    def _propose(self, i: int, h: int, r: int, b: int, t: float) -> None:
        """Send the PRE-PREPARE of ``(h, r)`` (``b`` a locked block, or -1 for a fresh one)."""
        self._proposed[i] = r
        if b < 0:
            b = self._new_block(i, h, t)
        self._b_round[b] = r
        if h >= self._finalized_height:
            log = self._vote_log.setdefault(h, {}).setdefault(r, [-1, 0.0, []])
            log[0], log[1] = i, t
        size = self._costs.size_mb(MessageKind.PRE_PREPARE, self._b_size[b])
        self._broadcast(t, _PP, i, h, r, b, -1, size)
        self._accept_proposal(i, h, r, b, t)

    def _new_block(self, i: int, h: int, t: float) -> int:
        """Fill a fresh block with the oldest pooled transactions (assembled from ``t - create``)."""
        scenario = self._scenario
        tx0 = self._tx_end[i]
        arrived = int(np.searchsorted(self._arrival_s, t - self._costs.create_block_s, side="right"))
        tx1 = max(tx0, min(tx0 + scenario.block_capacity_tx, arrived))
        switch = self._pending_switch[i]
        if switch == self._protocol_idx[i]:
            self._pending_switch[i] = switch = -1
        b = len(self._b_height)
        self._b_height.append(h)
        self._b_proposer.append(i)
        self._b_round.append(-1)
        self._b_tx0.append(tx0)
        self._b_tx1.append(tx1)
        self._b_size.append(block_size_mb(tx1 - tx0, scenario.tx_size_mb))
        self._b_switch.append(switch)
        self._b_protocol.append(self._protocol_idx[i])
        self._b_proposed_s.append(t)
        return b

    def _accept_proposal(self, i: int, h: int, r: int, b: int, t: float) -> None:
        self._pp_block[i] = b
        if self._voted_round[i] != r:  # vote once per round, even across a crash
            self._voted_round[i], self._voted_block[i] = r, b
            self._broadcast(t, _PREPARE, i, h, r, b, -1, self._costs.vote_size_mb)
            self._log_vote(i, _PREPARE, h, r, t)
        masks = self._prepares[i]
        masks[r] = masks.get(r, 0) | (1 << self._vpos[i])
        self._check(i, t)

    def _deliver(self, t: float, kind: int, i: int, j: int, h: int, r: int, b: int, x: int) -> None:
        """A consensus message from ``j`` reaches (and has been validated by) node ``i``."""
        height = self._height[i]
        if h != height:
            if h > height:
                if h == height + 1:
                    self._pending[i].append((kind, j, h, r, b, x))
                self._request_sync(i, j, t)
            elif kind == _RC:
                self._request_sync(j, i, t)  # the sender is stuck at an old height
            return
        cur = self._round[i]
        if r < cur:
            return
        v = self._vpos[j]
        # counts below the lowest threshold cannot change anything: skip the full check
        if kind == _PREPARE:
            masks = self._prepares[i]
            mask = masks[r] = masks.get(r, 0) | (1 << v)
            if r == cur and self._pp_block[i] >= 0 and mask.bit_count() >= self._act_q[self._protocol_idx[i]]:
                self._check(i, t)
        elif kind == _COMMIT:
            masks = self._commits[i]
            mask = masks[r] = masks.get(r, 0) | (1 << v)
            if r == cur and self._pp_block[i] >= 0 and mask.bit_count() >= self._commit_q:
                self._check(i, t)
        elif kind == _PP:
            if r > cur or not self._established[i]:  # the proposer held a quorum for round r
                self._round[i] = r
                self._pp_block[i] = -1
                self._start_round(i, t)
            if self._pp_block[i] < 0:
                self._accept_proposal(i, h, r, b, t)
        else:  # ROUND-CHANGE for round r carrying the sender's vote (x = round, b = block)
            n = self._count_rc(i, v, r, x, b)
            if r == cur:
                if not self._established[i] and n >= self._rc_q:
                    self._start_round(i, t)
                return
            high = self._rc_high[i]
            if r > high[v]:
                high[v] = r
            above = sorted((q for q in high if q > cur), reverse=True)
            if len(above) >= self._skip_q:  # f + 1 nodes are ahead: join the lowest of them
                self._enter_round(i, above[self._skip_q - 1], t)

    def _check(self, i: int, t: float) -> None:
        """Commit, or send COMMIT, if node ``i``'s current round allows it."""
        b = self._pp_block[i]
        r = self._round[i]
        p = self._protocol_idx[i]
        n_prep = self._prepares[i].get(r, 0).bit_count()
        if n_prep >= self._fast_q[p] or self._commits[i].get(r, 0).bit_count() >= self._commit_q:
            self._commit(i, b, r, t)
            return
        epoch = self._epoch[i]
        if n_prep >= self._prep_q[p] and self._sent_commit[i] != r and self._commit_armed[i] != epoch:
            send_at = self._rules[p].commit_send_time_s(t, self._round_start[i])
            h = self._height[i]
            if send_at <= t:
                self._send_commit(i, h, r, b, t)
                if self._commits[i].get(r, 0).bit_count() >= self._commit_q:
                    self._commit(i, b, r, t)
            else:
                self._commit_armed[i] = epoch
                self._push(send_at, _SEND_COMMIT, i, i, h, r, b, epoch)

    def _send_commit(self, i: int, h: int, r: int, b: int, t: float) -> None:
        self._sent_commit[i] = r
        self._broadcast(t, _COMMIT, i, h, r, b, -1, self._costs.vote_size_mb)
        self._log_vote(i, _COMMIT, h, r, t)
        masks = self._commits[i]
        masks[r] = masks.get(r, 0) | (1 << self._vpos[i])

    def _commit(self, i: int, b: int, r: int, t: float, start_next: bool = True) -> None:
        """Node ``i`` appends block ``b`` (committed in round ``r``) to its chain."""
        h = self._height[i]
        self._chain[i].append(b)
        self._height[i] = h + 1
        self._tx_end[i] = self._b_tx1[b]
        if self._b_switch[b] >= 0:
            self._protocol_idx[i] = self._b_switch[b]
        if self._vpos[i] >= 0:
            self._count_final(i, h, b, r, t)
        if start_next and self._vpos[i] >= 0:
            self._start_height(i, t)

    def _count_final(self, i: int, h: int, b: int, r: int, t: float) -> None:
        if h == len(self._canonical):
            self._canonical.append(b)
            self._final_count.append(0)
        elif self._canonical[h] != b:
            self.safety_violations += 1
            return
        self._final_count[h] += 1
        if self._final_count[h] == self._final_q:
            self._finalize(h, b, r, i, t)

    def _finalize(self, h: int, b: int, r: int, i: int, t: float) -> None:
        """Block ``b`` reached its finality quorum at ``t``: publish its record."""
        rounds = self._vote_log.pop(h, {})
        self._finalized_height = h + 1
        proposer, proposed_s, votes = rounds.get(r, [-1, 0.0, []])
        if proposer < 0:  # committed through sync without a logged proposal
            proposer, proposed_s = self._b_proposer[b], self._b_proposed_s[b]
        producers = self._scenario.producers
        tx0, tx1 = self._b_tx0[b], self._b_tx1[b]
        switch = self._b_switch[b]
        self._records.append(
            BlockRecord(
                height=h,
                round=r,
                proposer=self._scenario.nodes[proposer],
                protocol=self._names[self._b_protocol[b]],
                proposed_s=proposed_s,
                committed_s=t,
                tx_ids=np.arange(tx0, tx1, dtype=np.int64),
                size_mb=self._b_size[b],
                votes=tuple(VoteRecord(producers[v], _PHASE_NAMES[k], s) for v, k, s in votes if s <= t),
                switch_to=self._names[switch] if switch >= 0 else None,
                tx_arrival_s=self._arrival_s[tx0:tx1].copy(),
            )
        )
        self._committed_at.append(t)
        if switch >= 0:
            self._head_protocol = switch
            if self._pending_switch[self._b_proposer[b]] == switch:
                self._pending_switch[self._b_proposer[b]] = -1
        # The final block is announced to peers (block gossip): followers, and any
        # validator still below it (e.g. one that missed a BigFoot fast-path commit,
        # which sends no COMMIT it could learn from), fetch it.
        height = self._height
        for f in self._followers:
            if self._online[f]:
                self._request_sync(f, i, t)
        for v in self._validators:
            if height[v] <= h and self._online[v]:
                self._request_sync(v, i, t)

    # ------------------------------------------------------------------ block sync

    def _request_sync(self, i: int, src: int, t: float) -> None:
        """Node ``i`` fetches the blocks it misses from ``src`` (request, transfer, validation)."""
        if self._syncing[i] or not self._online[i]:
            return
        target = self._height[src]
        have = self._height[i]
        if target <= have:
            return
        self._syncing[i] = True
        blocks = self._chain[src][have:target]
        costs = self._costs
        size = sum(costs.size_mb(MessageKind.PRE_PREPARE, self._b_size[b]) for b in blocks)
        delay = (self._prop[i][src] + size / self._bandwidth[src] + self._prop[src][i]
                 + len(blocks) * costs.validate_block_s)
        self._push(t + delay, _SYNC, i, src, target, -1, -1, self._epoch[i])

    def _sync_delivered(self, i: int, src: int, target: int, t: float) -> None:
        if not self._syncing[i]:
            return  # went offline meanwhile; the transfer was lost
        self._syncing[i] = False
        have = self._height[i]
        if target <= have:
            return
        blocks = self._chain[src][have:target]
        for b in blocks[:-1]:
            self._commit(i, b, self._b_round[b], t, start_next=False)
        self._commit(i, blocks[-1], self._b_round[blocks[-1]], t)
        if self._height[src] > self._height[i]:  # the source moved on meanwhile: keep up
            self._request_sync(i, src, t)


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
    protocol: str = "IBFT",
    duration_s: float = 1000.0,
    seed: int = 0,
    controller: Callable[[Chain, float], None] | None = None,
) -> ChainRun:
    """Simulate ``duration_s`` seconds of chain time.

    ``controller(chain, t_s)``, if given, is called every ``scenario.twin_interval_s``
    of chain time (at t = TI, 2 TI, ... < duration); the twin reads ``chain.view``
    and may call ``chain.request_switch`` there.
    """
    duration_s = check_duration(duration_s)
    start = time.perf_counter()
    chain = Chain(scenario, protocol, seed)
    check_run_size(scenario, duration_s, twin=controller is not None)
    if controller is not None:
        step = scenario.twin_interval_s
        for k in range(1, int(np.ceil(duration_s / step))):
            chain.run_until(k * step)
            controller(chain, k * step)
    chain.run_until(duration_s)
    view = chain.view(0.0, duration_s)
    runtime_s = time.perf_counter() - start
    return ChainRun(view=view, metrics=chain_metrics(view, duration_s), chain=chain, runtime_s=runtime_s)

