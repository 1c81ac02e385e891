"""Message-level discrete-event simulator of a permissioned chain (IBFT / BigFoot / DPoS).

Every PRE-PREPARE, PREPARE, COMMIT and ROUND-CHANGE is its own typed event on a
small engine (:mod:`dtopt.consensus.engine`). This module wires the pieces and
holds the public API and the regimes: the protocol's reactions, named after its
steps, are in :mod:`dtopt.consensus.steps` (DPoS's slots and longest chain in
:mod:`dtopt.consensus.dpos`), block sync in
:mod:`dtopt.consensus.sync`, node state in :mod:`dtopt.consensus.nodes`, blocks
and finality in :mod:`dtopt.consensus.blocks`. Every quorum, timer,
block-filling and message-delay rule comes from :mod:`dtopt.consensus.protocols`
and :mod:`dtopt.consensus.config`, which the twin's oracle reads too. See
``docs/chain.md`` for the model and every modelling choice.

Public API: :class:`Chain` (``run_until``, ``view``, ``request_config``,
``request_switch``, ``branches``, ``protocol``, ``now_s``) and :func:`run_chain`. The twin may read only
:meth:`Chain.view`; the other accessors (``committed_chain``, ``node_protocol``,
``node_round``...) expose hidden state for tests and must not be used by the twin.

Units: seconds, MB, MB/s.
"""

from __future__ import annotations

import bisect
import io
import pickle
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from dtopt.consensus.arrivals import ARRIVAL_CHUNK_S, Arrivals
from dtopt.consensus.blocks import Ledger
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.dpos import DposSteps
from dtopt.consensus.engine import (
    BlockGossip,
    Commit,
    Engine,
    Prepare,
    PrePrepare,
    Propose,
    RegimeChange,
    RoundChange,
    RoundTimer,
    SendCommit,
    SlotTimer,
    SyncDone,
    TreeSyncDone,
)
from dtopt.consensus.limits import check_duration, check_run_size, check_seed
from dtopt.consensus.metrics import ChainMetrics, chain_metrics
from dtopt.consensus.nodes import Node, Quorums
from dtopt.consensus.scenario import Scenario
from dtopt.consensus.steps import _KIND, ConsensusSteps
from dtopt.consensus.sync import SyncMixin
from dtopt.consensus.view import BlockRecord, ChainView
from dtopt.errors import DtoptError

__all__ = ["Chain", "ChainRun", "run_chain"]


class Chain(ConsensusSteps, SyncMixin, DposSteps):
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
        seed = check_seed(seed)
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
        self._msg_count = dict.fromkeys((PrePrepare, Prepare, Commit, RoundChange, BlockGossip), 0)

        self._engine = Engine({
            PrePrepare: self.on_pre_prepare, Prepare: self.on_prepare, Commit: self.on_commit,
            RoundChange: self.on_round_change,
            RoundTimer: self.on_round_timeout, SendCommit: self.on_send_commit, Propose: self.on_propose,
            SyncDone: self.on_sync_done, RegimeChange: self.on_regime_change,
            BlockGossip: self.on_block_gossip, SlotTimer: self.on_slot, TreeSyncDone: self.on_tree_sync_done,
        })
        self._schedule = self._engine.schedule
        for index, regime in enumerate(scenario.regimes[1:], start=1):
            self._schedule(RegimeChange, regime.start_s, index)
        self._apply_regime(0)
        for i in self._validators:
            if self._nodes[i].online:
                self._next_height(self._nodes[i], 0.0)

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
        check_run_size(self._scenario, max(t_s, ARRIVAL_CHUNK_S))  # before any arrival is drawn
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
            tx_submitted_s=self._arrivals.submitted_s[lo:hi].copy(),
            tx_entry=self._arrivals.entry[lo:hi].copy(),
        )

    def request_config(self, producer: str, **changes: Any) -> None:
        """Ask the trusted block producer ``producer`` to carry a configuration change.

        ``changes`` holds any of ``protocol``, ``max_block_mb`` (or ``max_block_size_mb``,
        as a twin ``Configuration.to_dict()`` spells it), ``min_block_interval_s`` and
        ``round_timeout_s``; the rule that applies them (the fast-path timeout keeps its
        ratio to the round timeout) is :meth:`ChainConfig.switched`. The producer puts the
        change in its next fresh proposal; it takes effect on every node from the height
        after that block once the block is committed. A request made while another is
        pending at the same producer replaces it (the latest wins, nothing is merged). A
        request that the configuration in force when the producer proposes already
        satisfies is dropped. Bad keys or values, or an unknown producer: one-line DtoptError.
        """
        if producer not in self._scenario.producers:
            raise DtoptError(
                f"unknown block producer {producer!r}; choose one of {', '.join(self._scenario.producers)}"
            )
        changes = ChainConfig.switch_changes(changes)
        if "fast_path_timeout_s" in changes:
            raise DtoptError("configuration change: fast_path_timeout_s follows the round timeout; "
                             "change round_timeout_s instead")
        if not changes:
            raise DtoptError("configuration change: nothing to change")
        switched = self.config.switched(**changes)  # validates every value now, not at proposal time
        pending = {key: getattr(switched, key) for key in changes}
        self._nodes[self._scenario.nodes.index(producer)].pending_switch = pending

    def request_switch(self, protocol: str, producer: str) -> None:
        """Ask ``producer`` to carry a switch to ``protocol`` (:meth:`request_config`, protocol only)."""
        self.request_config(producer, protocol=protocol)

    def branches(self, n: int) -> Iterator[Chain]:
        """``n`` independent copies of the chain as it is now, for what-if runs (benchmarks).

        Each copy evolves on its own from :attr:`now_s` (with the same seeded streams:
        run unchanged, it does exactly what this chain would). The chain is serialised
        once; the copies share with it what never changes once made (the published
        block records, the arrival times, the drawn jitter, the configurations and the
        scenario), so a copy costs the live state, not the history.
        """
        shared: dict[int, Any] = {}
        arrivals = self._arrivals  # its arrays are replaced when extended, never written
        arrays = (arrivals.arrival_s, arrivals.submitted_s, arrivals.entry, self._jitter_buf)

        class _Pickler(pickle.Pickler):
            def persistent_id(self, obj: Any) -> int | None:
                if isinstance(obj, BlockRecord | ChainConfig | Scenario) or any(obj is a for a in arrays):
                    shared[id(obj)] = obj
                    return id(obj)
                return None

        buffer = io.BytesIO()
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(self)
        data = buffer.getvalue()
        for _ in range(n):
            unpickler = pickle.Unpickler(io.BytesIO(data))
            unpickler.persistent_load = shared.__getitem__  # type: ignore[method-assign]
            yield unpickler.load()

    # Internal state for tests and diagnostics (NOT part of the twin-facing view).

    def committed_chain(self, node: str) -> tuple[int, ...]:
        """Ids of the blocks ``node`` has committed, by height (hidden state, for tests)."""
        return tuple(b.id for b in self._node(node).chain)

    def node_config(self, node: str) -> ChainConfig:
        """Configuration ``node`` runs at its current height (hidden state, for tests)."""
        return self._node(node).config

    def node_protocol(self, node: str) -> str:
        """Protocol ``node`` runs at its current height (hidden state, for tests)."""
        return self.node_config(node).protocol

    def node_round(self, node: str) -> int:
        """``node``'s current consensus round (hidden state, for tests)."""
        return self._node(node).round

    def node_syncing(self, node: str) -> bool:
        """Whether ``node`` is online and fetching blocks it misses (hidden state, for tests)."""
        state = self._node(node)
        return state.online and state.syncing

    def block_config(self, block_id: int) -> ChainConfig:
        """Configuration under which block ``block_id`` was proposed (hidden state, for tests)."""
        return self._ledger.blocks[block_id].config

    def block_protocol(self, block_id: int) -> str:
        """Protocol under which block ``block_id`` was proposed (hidden state, for tests)."""
        return self.block_config(block_id).protocol

    @property
    def messages_sent(self) -> dict[str, int]:
        """Consensus messages sent so far, per kind (DPoS's BLOCK once any is sent; hidden
        state, for tests)."""
        counts = self._msg_count.items()
        return {_KIND[event].value: n for event, n in counts if n or event is not BlockGossip}

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
        if node.is_validator() and node.config.rules.slots:
            self._dpos_come_back(node, t)
            return
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
    and may call ``chain.request_config`` (or ``chain.request_switch``) there.
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
