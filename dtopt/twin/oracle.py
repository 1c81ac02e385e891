"""The twin's vectorised round oracle.

Given an estimate of the chain's state, the oracle simulates ``R`` Monte Carlo
replicas of consecutive consensus rounds at once. Every per-round quantity is an
array over ``(replicas, nodes)`` or ``(senders, replicas, receivers)``; quorum
times are order statistics over the sender axis, taken by a selection network
(:mod:`dtopt.twin.network`: a fixed sequence of ``np.minimum``/``np.maximum``
over contiguous sender rows) or, as the reference, by ``np.partition``. The only
Python loop is over consecutive rounds.

The protocol rules (quorums, fast path, commit sending, message delays, proposer
rotation, block finality) come from :mod:`dtopt.consensus.protocols`, the same
description the message-level chain simulator follows.

Transactions are tracked as a FIFO pool per replica: a count plus the arrival
time of the oldest pooled transaction (the "cursor"). Between proposals, Poisson
arrivals join the pool; a proposer takes the oldest transactions up to the
maximum block size, whose arrival times are treated as spread evenly between the
cursor and the proposal time. That gives each block's summed transaction latency
without storing individual transactions.

Units: seconds, MB, MB/s, transactions per second. Times inside one prediction
are relative to the start of the horizon (0 = now).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.limits import check_oracle_size, check_seed
from dtopt.consensus.protocols import (
    MessageCosts,
    MessageKind,
    ProtocolRules,
    block_size_mb,
    draw_jitter_s,
    message_delay_s,
    proposer_index,
    quorum_size,
)
from dtopt.consensus.scenario import Scenario
from dtopt.errors import DtoptError
from dtopt.twin.network import SelectionNetwork

__all__ = ["ChainParams", "OraclePrediction", "OracleState", "RoundOracle"]

# A prediction never runs more rounds than this per replica (guards a horizon far
# longer than the rounds it would take, e.g. a stalled chain).
_MAX_ROUNDS = 100_000

# Pre-drawn jitter matrices per state that the replicas' vote phases sample from.
_JITTER_POOL = 512

# How order statistics over the sender axis are taken (same values, different speed).
ORDER_STATISTICS = ("network", "partition")


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    value = float(value)
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise DtoptError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}")
    return value


@dataclass(frozen=True, eq=False)
class ChainParams:
    """The chain's public, static configuration the twin is allowed to know.

    Attributes
    ----------
    validators : validator (block producer) names, in rotation order, length ``N``.
    tx_size_mb : size of one transaction (MB).
    max_block_mb : maximum block size (MB).
    min_block_interval_s : minimum time between consecutive blocks (s).
    round_timeout_s : a round that has not committed after this long changes round (s).
    fast_path_timeout_s : BigFoot's fast-path timeout after the round starts (s).
    costs : message sizes and validation times.
    propagation_s : propagation latency between validators, shape ``(N, N)`` (s).
    """

    validators: tuple[str, ...]
    tx_size_mb: float
    max_block_mb: float
    min_block_interval_s: float
    round_timeout_s: float
    fast_path_timeout_s: float
    costs: MessageCosts = field(default_factory=MessageCosts)
    propagation_s: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        n = len(self.validators)
        if n < 1 or len(set(self.validators)) != n:
            raise DtoptError(f"validators must be non-empty and unique, got {self.validators!r}")
        _positive("tx_size_mb", self.tx_size_mb)
        _positive("max_block_mb", self.max_block_mb)
        _positive("min_block_interval_s", self.min_block_interval_s, allow_zero=True)
        _positive("round_timeout_s", self.round_timeout_s)
        _positive("fast_path_timeout_s", self.fast_path_timeout_s)
        if self.max_block_mb < self.tx_size_mb:
            raise DtoptError("max_block_mb must hold at least one transaction (>= tx_size_mb)")
        prop = np.asarray(self.propagation_s, dtype=float)
        if prop.size == 0:
            prop = np.zeros((n, n))
        if prop.shape != (n, n) or not np.all(np.isfinite(prop)) or np.any(prop < 0):
            raise DtoptError(f"propagation_s must be a finite ({n}, {n}) array >= 0, got shape {prop.shape}")
        object.__setattr__(self, "propagation_s", prop)

    # Same definitions as the chain's Scenario (they read only the static fields
    # both classes share), so the two cannot drift apart.
    block_capacity_tx = Scenario.block_capacity_tx
    rules = Scenario.rules

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> ChainParams:
        """The static part of a :class:`dtopt.consensus.scenario.Scenario` (never its regimes).

        Only the producers vote, so the propagation matrix is cut down to them.
        """
        index = [scenario.nodes.index(p) for p in scenario.producers]
        prop = np.asarray(scenario.propagation_s, dtype=float)[np.ix_(index, index)]
        return cls(
            validators=tuple(scenario.producers),
            tx_size_mb=scenario.tx_size_mb,
            max_block_mb=scenario.max_block_mb,
            min_block_interval_s=scenario.min_block_interval_s,
            round_timeout_s=scenario.round_timeout_s,
            fast_path_timeout_s=scenario.fast_path_timeout_s,
            costs=scenario.costs,
            propagation_s=prop,
        )


@dataclass(frozen=True, eq=False)
class OracleState:
    """An estimate of the chain's dynamic state, the oracle's input.

    Attributes
    ----------
    online : whether each validator is online, shape ``(N,)`` bool.
    bandwidth_mbps : each validator's upload bandwidth, shape ``(N,)`` (MB/s).
    tx_rate_per_s : transaction arrival rate (tx/s).
    jitter_s : mean of the random per-message network jitter (s); 0 = steady network.
    backlog_tx : transactions waiting in the pool now (the block in flight included).
    backlog_age_s : age of the oldest waiting transaction (s).
    next_height : height of the next block (sets the proposer rotation).
    round_elapsed_s : time since the validators started the current height, i.e.
        since the last block was committed (s); 0 = a round starts now.
    since_proposal_s : time since the last block was proposed (s), for the minimum
        block interval; ``inf`` = no previous block.
    """

    online: NDArray[np.bool_]
    bandwidth_mbps: NDArray[np.float64]
    tx_rate_per_s: float
    jitter_s: float = 0.0
    backlog_tx: int = 0
    backlog_age_s: float = 0.0
    next_height: int = 0
    round_elapsed_s: float = 0.0
    since_proposal_s: float = float("inf")

    def __post_init__(self) -> None:
        online = np.asarray(self.online, dtype=bool)
        bw = np.asarray(self.bandwidth_mbps, dtype=float)
        if online.ndim != 1 or bw.shape != online.shape:
            raise DtoptError(
                f"online and bandwidth_mbps must be 1-d of equal length, got {online.shape} and {bw.shape}"
            )
        if not np.all(np.isfinite(bw)) or np.any(bw <= 0):
            raise DtoptError("bandwidth_mbps must be finite and > 0 for every validator")
        _positive("tx_rate_per_s", self.tx_rate_per_s, allow_zero=True)
        _positive("jitter_s", self.jitter_s, allow_zero=True)
        _positive("backlog_age_s", self.backlog_age_s, allow_zero=True)
        _positive("round_elapsed_s", self.round_elapsed_s, allow_zero=True)
        if np.isnan(self.since_proposal_s) or self.since_proposal_s < 0:
            raise DtoptError(f"since_proposal_s must be >= 0 (inf allowed), got {self.since_proposal_s!r}")
        if int(self.backlog_tx) != self.backlog_tx or self.backlog_tx < 0:
            raise DtoptError(f"backlog_tx must be an integer >= 0, got {self.backlog_tx!r}")
        if int(self.next_height) != self.next_height or self.next_height < 0:
            raise DtoptError(f"next_height must be an integer >= 0, got {self.next_height!r}")
        object.__setattr__(self, "online", online)
        object.__setattr__(self, "bandwidth_mbps", bw)

    def with_(self, **changes: Any) -> OracleState:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class OraclePrediction:
    """What the oracle predicts for one state under one protocol over the horizon.

    Means are over all replicas (transaction latency pooled over all committed
    transactions); ``*_std`` is the spread (standard deviation) of the per-replica
    values. Latency is ``inf`` and throughput 0 when no block commits.

    Attributes
    ----------
    protocol : protocol simulated.
    horizon_s : simulated window (s).
    replicas : Monte Carlo replicas.
    mean_tx_latency_s, tx_latency_std_s : block commit time minus arrival (s).
    mean_interblock_s, interblock_std_s : time between consecutive block commits, the
        first counted from the horizon start (s).
    throughput_tps, throughput_std_tps : committed transactions per second.
    mean_wait_s, wait_std_s : waiting time per transaction inside the horizon: the
        transaction-seconds that the backlog and the arrivals spend uncommitted
        within the horizon, over their number (s). Unlike the latency of the
        transactions committed in the horizon, it charges a protocol for what it
        leaves in the pool, so it ranks protocols robustly on short horizons
        (Little's law: time-averaged pool size over arrival rate).
    mean_blocks : blocks committed per replica in the horizon.
    mean_rounds : rounds simulated per replica (committed plus timed out).
    """

    protocol: str
    horizon_s: float
    replicas: int
    mean_tx_latency_s: float
    tx_latency_std_s: float
    mean_interblock_s: float
    interblock_std_s: float
    throughput_tps: float
    throughput_std_tps: float
    mean_wait_s: float
    wait_std_s: float
    mean_blocks: float
    mean_rounds: float


def _nan_std(values: NDArray[np.float64]) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.std()) if finite.size > 1 else 0.0


class RoundOracle:
    """Monte Carlo round simulator over replicas and validators.

    Parameters
    ----------
    params : the chain's static configuration.
    replicas : Monte Carlo replicas ``R`` per state (>= 1).
    seed : seed of the random generator; every prediction restarts from it, so
        the same inputs always give the same prediction.
    order_statistics : ``"network"`` (default, a selection network per needed
        rank) or ``"partition"`` (``np.partition``, the reference). Both give
        exactly the same predictions; the network is several times faster for
        about 10 validators.
    """

    def __init__(
        self, params: ChainParams, replicas: int = 256, seed: int = 0, order_statistics: str = "network"
    ) -> None:
        if not isinstance(params, ChainParams):
            raise DtoptError(f"params must be a ChainParams, got {type(params).__name__}")
        if isinstance(replicas, bool) or int(replicas) != replicas or replicas < 1:
            raise DtoptError(f"replicas must be an integer >= 1, got {replicas!r}")
        check_oracle_size(len(params.validators), replicas)
        seed = check_seed(seed)
        if order_statistics not in ORDER_STATISTICS:
            raise DtoptError(
                f"order_statistics must be one of {', '.join(ORDER_STATISTICS)}, got {order_statistics!r}"
            )
        self.params = params
        self.replicas = int(replicas)
        self.seed = int(seed)
        self.order_statistics = order_statistics
        self._networks: dict[tuple[int, tuple[int, ...]], SelectionNetwork] = {}

    def predict(self, state: OracleState, protocol: str, horizon_s: float) -> OraclePrediction:
        """Predict one state under ``protocol`` over ``horizon_s`` seconds."""
        return self.predict_many([state], protocol, horizon_s)[0]

    def predict_many(
        self, states: Sequence[OracleState], protocol: str, horizon_s: float
    ) -> tuple[OraclePrediction, ...]:
        """Predict several states at once (stacked along the replica axis)."""
        rules = self.params.rules(protocol)
        horizon_s = _positive("horizon_s", horizon_s)
        states = list(states)
        if not states:
            raise DtoptError("need at least one state to predict")
        n = len(self.params.validators)
        for st in states:
            if not isinstance(st, OracleState) or st.online.shape != (n,):
                raise DtoptError(f"each state must be an OracleState over the chain's {n} validators")
        acc = self._simulate(states, rules, horizon_s)
        r = self.replicas
        return tuple(
            _summarise(rules.name, horizon_s, r, {k: v[i * r : (i + 1) * r] for k, v in acc.items()})
            for i in range(len(states))
        )

    def _select(self, values: NDArray, ranks: tuple[int, ...]) -> list[NDArray]:
        """Exact order statistics ``ranks`` (0-based) of ``values`` along axis 0.

        ``values`` has shape ``(n, ...)`` and may be overwritten; each result has
        shape ``values.shape[1:]`` and may alias ``values``.
        """
        if self.order_statistics == "partition":
            part = np.moveaxis(values, 0, -1).copy()
            part.partition(ranks, axis=-1)
            return [part[..., r] for r in ranks]
        key = (values.shape[0], ranks)
        network = self._networks.get(key)
        if network is None:
            network = self._networks[key] = SelectionNetwork(*key)
        rows = values.reshape(values.shape[0], -1)
        found = dict(zip(network.ranks, network.select(rows), strict=True))
        return [found[r].reshape(values.shape[1:]) for r in ranks]

    def _simulate(
        self, states: list[OracleState], rules: ProtocolRules, horizon_s: float
    ) -> dict[str, NDArray[np.float64]]:
        """Run the round loop for every replica of every state; per-replica accumulators.

        Node-major layout: per-node quantities are ``(N, B)`` arrays (``B`` = states x
        replicas), so every elementwise operation runs over contiguous replicas.
        Absolute times are float64; the heavy ``(N, N, B)`` vote arrivals hold float32
        times relative to the round's start, laid out ``[sender, receiver, replica]``
        so each sender's arrivals are one contiguous row for the order statistics.
        """
        p = self.params
        costs = p.costs
        rng = np.random.default_rng(self.seed)
        n = len(p.validators)
        q = quorum_size(n)
        q_final = rules.block_finality_quorum(n)
        f_skip = rules.round_skip_quorum(n)
        reps = self.replicas
        n_states = len(states)
        scen = np.repeat(np.arange(n_states), reps)  # state of each replica
        b = scen.size
        rows = np.arange(b)

        online = np.array([s.online for s in states]).T[:, scen]  # (N, B)
        bw = np.array([s.bandwidth_mbps for s in states])  # (S, N)
        rate = np.array([s.tx_rate_per_s for s in states])[scen]
        jitter = np.array([s.jitter_s for s in states])
        jitter32 = jitter.astype(np.float32)

        # Random jitter (the chain's exponential jitter, drawn with unit mean and
        # scaled per state) comes from pools of ``reps + _JITTER_POOL`` columns drawn
        # once per prediction: every phase reads ``reps`` consecutive columns at a
        # random offset in [0, _JITTER_POOL], so within a phase the replicas get
        # distinct independent draws and the window is a plain slice (no gather).
        # Without jitter one column serves all (broadcast).
        shifts = _JITTER_POOL + 1 if np.any(jitter > 0) else 1
        width = reps + shifts - 1 if shifts > 1 else 1

        def jitter_pool(shape: tuple[int, ...]) -> NDArray[np.float32]:
            return draw_jitter_s(rng, 1.0, (*shape, n_states, width), np.float32) * jitter32[:, None]

        # Vote (PREPARE, COMMIT, ROUND-CHANGE) delays [sender, receiver, state, column];
        # a node's own vote counts at once.
        vote_s = np.asarray(
            message_delay_s(
                costs.size_mb(MessageKind.PREPARE),
                bw.T[:, None, :],
                p.propagation_s[:, :, None],
                costs.validation_s(MessageKind.PREPARE),
            )
        )
        vote_pool = (vote_s[..., None] + jitter_pool((n, n))).astype(np.float32)
        vote_pool[np.arange(n), np.arange(n)] = 0.0
        pre_pool = jitter_pool((n,)).astype(np.float32)  # PRE-PREPARE jitter [receiver, state, column]
        arrive = np.empty((n, n, n_states, reps), dtype=np.float32)  # reused by every vote phase
        column = rows % reps

        def window(pool: NDArray[np.float32]) -> NDArray[np.float32]:
            """``reps`` consecutive columns of ``pool`` at a random offset."""
            offset = int(rng.integers(shifts))
            if width == 1:  # no jitter: the one column serves every replica
                return np.broadcast_to(pool, (*pool.shape[:-1], reps))
            return pool[..., offset : offset + reps]

        def vote_arrivals(send_rel: NDArray[np.float32]) -> NDArray[np.float32]:
            """Arrival times ``(sender, receiver, B)`` of votes sent at ``send_rel`` ``(sender, B)``."""
            np.add(window(vote_pool), send_rel.reshape(n, 1, n_states, reps), out=arrive)
            return arrive.reshape(n, n, b)

        # the PRE-PREPARE's validation and propagation, [receiver, proposer]
        block_validation_s = np.ascontiguousarray(
            (p.propagation_s + costs.validation_s(MessageKind.PRE_PREPARE)).T
        )
        prepare_ranks = (q - 1, n - 1) if rules.fast_path else (q - 1,)
        unreachable = online.sum(axis=0) < q  # no quorum can ever form
        # when each node started its current round (the height began at the last commit)
        elapsed = np.array([s.round_elapsed_s for s in states])[scen]
        entered = np.where(online, -elapsed, np.inf)
        last_proposal = -np.array([s.since_proposal_s for s in states])[scen]
        rc_ready = np.zeros(b)  # round > 0: when its proposer holds a ROUND-CHANGE quorum
        height = np.array([s.next_height for s in states], dtype=np.int64)[scen]
        round_ = np.zeros(b, dtype=np.int64)
        pool = np.array([s.backlog_tx for s in states], dtype=np.int64)[scen]
        cursor = -np.array([s.backlog_age_s for s in states])[scen]  # oldest pooled arrival
        arrived_until = np.zeros(b)  # arrivals have been drawn up to this time
        cap = p.block_capacity_tx
        bw = bw.T[:, scen]  # (N, B)
        diagonal = np.arange(n)

        acc = {
            "blocks": np.zeros(b),
            "tx": np.zeros(b),
            "latency_sum": np.zeros(b),
            "served_s": np.zeros(b),
            "last_commit": np.zeros(b),
            "rounds": np.zeros(b),
        }
        for _ in range(_MAX_ROUNDS):
            proposer = proposer_index(height, round_, n)
            up = online[proposer, rows]
            # Round 0 proposes after the previous block and the minimum block interval;
            # a later round once its proposer holds a quorum of ROUND-CHANGEs.
            start = np.where(
                round_ == 0,
                np.maximum(entered[proposer, rows], last_proposal + p.min_block_interval_s),
                rc_ready,
            )
            begin = entered.min(axis=0)
            active = (np.where(up, start, begin) < horizon_s) & ~unreachable
            if not active.any():
                break
            acc["rounds"] += active
            committed = np.zeros(b, dtype=bool)
            changed = ~up & active
            if (up & active).any():
                start = np.where(up, start, begin)
                entered_rel = (entered - start).astype(np.float32)

                # Pool: Poisson arrivals up to the proposal, then the oldest ones up to capacity.
                dt = np.where(up & active, np.maximum(start - arrived_until, 0.0), 0.0)
                pool += rng.poisson(rate * dt)
                arrived_until = arrived_until + dt
                taken = np.minimum(pool, cap)
                share = np.divide(taken, pool, out=np.zeros(b), where=pool > 0)
                span = arrived_until - cursor
                mean_arrival = cursor + span * share / 2.0

                # PRE-PREPARE: the proposer holds its block once created; the others after
                # transmission, propagation, block validation and jitter.
                send = costs.create_block_s
                size_mb = costs.size_mb(MessageKind.PRE_PREPARE, block_size_mb(taken, p.tx_size_mb))
                pre = block_validation_s[:, proposer] + (send + size_mb / bw[proposer, rows])
                pre += window(pre_pool).reshape(n, -1)
                pre[proposer, rows] = send
                pre = np.where(online, pre, np.inf).astype(np.float32)

                # A node counts votes once it has accepted the proposal.
                prepares = self._select(vote_arrivals(pre), prepare_ranks)
                quorum_prepare = np.maximum(prepares[0], pre)
                if rules.fast_path:
                    # every validator's PREPARE (inf if one is missing): the largest one
                    fast = prepares[1].copy()
                    commit_send = np.asarray(rules.commit_send_time_s(quorum_prepare, entered_rel))
                    commit_send = np.where(commit_send < fast, commit_send, np.inf)
                else:
                    commit_send = quorum_prepare
                commit_send = np.where(online, commit_send, np.inf).astype(np.float32)
                if np.isfinite(commit_send).any():
                    node_commit = np.maximum(self._select(vote_arrivals(commit_send), (q - 1,))[0], pre)
                else:  # everyone committed on the fast path: no COMMIT is sent
                    node_commit = np.full_like(pre, np.inf)
                if rules.fast_path:
                    node_commit = np.minimum(node_commit, fast)
                node_commit = np.where(online, node_commit + start, np.inf)
                # the block in flight at the horizon start had not committed before it
                block_commit = np.maximum(self._select(node_commit.copy(), (q_final - 1,))[0], 0.0)
                committed = up & active & np.isfinite(block_commit)
                # A round that cannot commit (too few online) ends the replica.
                unreachable |= up & active & ~committed

                in_window = committed & (block_commit < horizon_s)
                acc["blocks"] += in_window
                acc["tx"] += np.where(in_window, taken, 0)
                acc["latency_sum"] += np.where(in_window, taken * (block_commit - mean_arrival), 0.0)
                acc["served_s"] += np.where(in_window, taken * (horizon_s - block_commit), 0.0)
                acc["last_commit"][in_window] = block_commit[in_window]

                pool -= np.where(committed, taken, 0)
                cursor = np.where(committed, cursor + span * share, cursor)
                entered = np.where(committed, node_commit, entered)
                last_proposal = np.where(committed, start + send, last_proposal)
            if changed.any():
                # Offline proposer: each online node times out and sends ROUND-CHANGE;
                # f + 1 of them from others make a node skip ahead before its own timer;
                # the next proposer proposes on a quorum of them (its own included).
                base = np.where(changed, begin, 0.0)
                timer = (entered - base + p.round_timeout_s).astype(np.float32)
                others = vote_arrivals(timer)
                others[diagonal, diagonal] = np.inf
                moved = np.minimum(timer, self._select(others, (f_skip - 1,))[0])
                entered = np.where(changed & online, moved + base, entered)
                nxt = proposer_index(height, round_ + 1, n)
                offset = int(rng.integers(shifts))
                at_next = vote_pool[:, nxt, scen, column + offset if width > 1 else 0] + moved
                ready = self._select(at_next, (q - 1,))[0] + base
                rc_ready = np.where(changed, ready, rc_ready)
            height += committed
            round_ = np.where(committed, 0, round_ + changed)
        # Transaction-seconds spent waiting inside the horizon: the backlog and the
        # arrivals (expected) wait until the horizon ends unless a block serves them.
        backlog = np.array([s.backlog_tx for s in states], dtype=float)[scen]
        acc["present_tx"] = backlog + rate * horizon_s
        acc["wait_s"] = backlog * horizon_s + rate * horizon_s**2 / 2.0 - acc.pop("served_s")
        return acc


def _summarise(
    protocol: str, horizon_s: float, replicas: int, acc: dict[str, NDArray[np.float64]]
) -> OraclePrediction:
    """Fold one state's per-replica accumulators into a prediction."""
    tx = acc["tx"]
    with np.errstate(invalid="ignore", divide="ignore"):
        latency = np.where(tx > 0, acc["latency_sum"] / tx, np.inf)
        # as dtopt.consensus.metrics: the first block counts from the window start
        interblock = np.where(acc["blocks"] > 0, acc["last_commit"] / acc["blocks"], np.inf)
    throughput = tx / horizon_s
    total_tx = tx.sum()
    present = acc["present_tx"].sum()
    return OraclePrediction(
        protocol=protocol,
        horizon_s=horizon_s,
        replicas=replicas,
        mean_tx_latency_s=float(acc["latency_sum"].sum() / total_tx) if total_tx > 0 else float("inf"),
        tx_latency_std_s=_nan_std(latency),
        mean_interblock_s=float(np.mean(interblock)) if np.all(np.isfinite(interblock)) else float("inf"),
        interblock_std_s=_nan_std(interblock),
        throughput_tps=float(throughput.mean()),
        throughput_std_tps=float(throughput.std()),
        mean_wait_s=float(acc["wait_s"].sum() / present) if present > 0 else 0.0,
        wait_std_s=float(np.std(acc["wait_s"] / acc["present_tx"])) if present > 0 else 0.0,
        mean_blocks=float(acc["blocks"].mean()),
        mean_rounds=float(acc["rounds"].mean()),
    )
