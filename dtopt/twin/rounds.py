"""The oracle's round loop, one function per protocol phase.

:class:`RoundLoop` advances every replica of every state by one consensus round
per :meth:`RoundLoop.step`: the proposal (pool and block filling), the
PRE-PREPARE's arrival, the PREPARE phase, the COMMIT phase, block finality,
and for an offline proposer the ROUND-CHANGE phase. Every rule (quorums,
COMMIT sending, timers, block filling, message delays) comes from the chain's
:class:`~dtopt.consensus.config.ChainConfig` and its
:class:`~dtopt.consensus.protocols.ProtocolRules`, as in the message-level chain.

Node-major layout: per-node quantities are ``(N, B)`` arrays (``B`` = states x
replicas x configurations, configurations innermost), so every elementwise
operation runs over contiguous columns. Several configurations of one protocol
run in one loop when ``config`` is a
:class:`~dtopt.consensus.columns.ConfigColumns`: its block capacity, minimum
block interval and timeouts are ``(B,)`` arrays that broadcast over the node
axis, and every configuration reads the same jitter pools (per state).
Randomness per round comes from a draws object (:mod:`dtopt.twin.draws`).
Absolute times are float64; the heavy ``(N, N, B)`` vote arrivals hold float32
times relative to the round's start, laid out ``[sender, receiver, replica]`` so
each sender's arrivals are one contiguous row for the order statistics.

Units: seconds, MB, MB/s; times relative to the start of the horizon.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.columns import ConfigColumns
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.protocols import MessageKind, proposer_index
from dtopt.twin.draws import CommonDraws, SequentialDraws

__all__ = ["RoundLoop"]

# Pre-drawn jitter matrices per state that the replicas' phases sample from.
_JITTER_POOL: Final = 512

Select = Callable[[NDArray, tuple[int, ...]], list[NDArray]]


class RoundLoop:
    """Consecutive rounds of ``replicas`` Monte Carlo replicas of each state (see module doc).

    ``select(values, ranks)`` takes exact order statistics along axis 0. ``draws``
    supplies the randomness (:mod:`dtopt.twin.draws`); a generator is consumed in
    call order (:class:`~dtopt.twin.draws.SequentialDraws`).
    """

    def __init__(self, config: ChainConfig | ConfigColumns, states: Sequence[Any], replicas: int,
                 draws: np.random.Generator | SequentialDraws | CommonDraws, select: Select,
                 horizon_s: float) -> None:
        self.config, self.select, self.horizon_s = config, select, horizon_s
        self.draws = SequentialDraws(draws) if isinstance(draws, np.random.Generator) else draws
        self.copies = config.configurations if isinstance(config, ConfigColumns) else 1
        self.steps = 0
        rules = config.rules
        n = self.n = config.n_validators
        self.fast_path = rules.fast_path
        self.q_prepare = rules.prepare_quorum(n)
        self.q_commit = rules.commit_quorum(n)
        self.q_round_change = rules.round_change_quorum(n)
        self.q_skip = rules.round_skip_quorum(n)
        self.q_final = rules.block_finality_quorum(n)
        fast = rules.fast_quorum(n)
        self.prepare_ranks = (self.q_prepare - 1,) if fast is None else (self.q_prepare - 1, fast - 1)
        self.reps = reps = replicas
        self.n_states = n_states = len(states)
        # column = (state, replica, configuration); the configurations share a replica's draws
        self.stream = np.repeat(np.arange(n_states * reps), self.copies)  # (state, replica) of each column
        self.scen = scen = self.stream // reps  # state of each column
        self.b = b = scen.size
        self.rows = np.arange(b)
        self.column = self.stream % reps  # replica of each column

        self.online = np.array([s.online for s in states]).T[:, scen]  # (N, B)
        bw = np.array([s.bandwidth_mbps for s in states])  # (S, N)
        self.rate = np.array([s.tx_rate_per_s for s in states])[scen]
        self._draw_pools(bw, np.array([s.jitter_s for s in states]))
        self.bw = bw.T[:, scen]  # (N, B)
        self.unreachable = self.online.sum(axis=0) < self.q_prepare  # no quorum can ever form
        # when each node started its current round (the height began at the last commit)
        elapsed = np.array([s.round_elapsed_s for s in states])[scen]
        self.entered = np.where(self.online, -elapsed, np.inf)
        self.last_proposal = -np.array([s.since_proposal_s for s in states])[scen]
        self.rc_ready = np.zeros(b)  # round > 0: when its proposer holds a ROUND-CHANGE quorum
        self.height = np.array([s.next_height for s in states], dtype=np.int64)[scen]
        self.round = np.zeros(b, dtype=np.int64)
        self.pool = np.array([s.backlog_tx for s in states], dtype=np.int64)[scen]
        # IBFT's lock: after a round in which the block was voted on, the next proposer
        # re-proposes it (the ROUND-CHANGEs carry the votes): (transactions, their mean
        # arrival, the span of the pool they cover), until the height commits
        self.locked = np.zeros(b, dtype=bool)
        self.lock = (np.zeros(b, dtype=np.int64), np.zeros(b), np.zeros(b))
        self.cursor = -np.array([s.backlog_age_s for s in states])[scen]  # oldest pooled arrival
        self.arrived_until = np.zeros(b)  # arrivals have been drawn up to this time
        self.acc = {key: np.zeros(b) for key in ("blocks", "tx", "latency_sum", "served_s", "last_commit",
                                                 "rounds")}

    def _draw_pools(self, bw: NDArray[np.float64], jitter: NDArray[np.float64]) -> None:
        """Vote delays and jitter, drawn once per prediction.

        Random jitter (the chain's exponential jitter, drawn with unit mean and
        scaled per state) comes from pools of ``reps + _JITTER_POOL`` columns: every
        phase reads ``reps`` consecutive columns at a random offset in
        [0, _JITTER_POOL], so within a phase the replicas get distinct independent
        draws and the window is a plain slice (no gather). Without jitter one
        column serves all (broadcast).
        """
        config, n, reps, n_states = self.config, self.n, self.reps, self.n_states
        self.shifts = _JITTER_POOL + 1 if np.any(jitter > 0) else 1
        self.width = reps + self.shifts - 1 if self.shifts > 1 else 1
        jitter32 = jitter.astype(np.float32)

        def jitter_pool(shape: tuple[int, ...]) -> NDArray[np.float32]:
            return self.draws.unit_jitter((*shape, n_states, self.width)) * jitter32[:, None]

        # Vote delays [sender, receiver, state, column] of a vote without the block (a
        # block that votes carry is added per round); a node's own vote counts at once.
        prop = config.validator_propagation_s
        link = config.link_bandwidth_mbps(bw.T[:, None, :], bw.T[None, :, :])
        self.link_mbps = np.broadcast_to(link, (n, n, n_states))  # [sender, receiver, state]
        vote_s = np.asarray(config.message_delay_s(MessageKind.PREPARE, 0.0, bw.T[:, None, :],
                                                   bw.T[None, :, :], prop[:, :, None]))
        self.vote_pool = (vote_s[..., None] + jitter_pool((n, n))).astype(np.float32)
        self.vote_pool[np.arange(n), np.arange(n)] = 0.0
        self.pre_pool = jitter_pool((n,)).astype(np.float32)  # PRE-PREPARE jitter [receiver, state, column]
        # reused by every vote phase
        self.arrive = np.empty((n, n, n_states, reps, self.copies), dtype=np.float32)
        self.prop_to = np.ascontiguousarray(prop.T)  # [receiver, sender]

    def window(self, pool: NDArray[np.float32], slot: str) -> NDArray[np.float32]:
        """``reps`` consecutive columns of ``pool`` at a random offset (phase ``slot``)."""
        offset = self.draws.offset(self.steps, slot, self.shifts)
        if self.width == 1:  # no jitter: the one column serves every replica
            return np.broadcast_to(pool, (*pool.shape[:-1], self.reps))
        return pool[..., offset : offset + self.reps]

    def vote_arrivals(self, send_rel: NDArray[np.float32], slot: str, block_s: NDArray | None = None
                      ) -> NDArray:
        """Arrival times ``(sender, receiver, B)`` of votes sent at ``send_rel`` ``(sender, B)``,
        plus ``block_s`` ``(sender, receiver, B)`` when the votes carry the block."""
        n = self.n
        np.add(self.window(self.vote_pool, slot)[..., None],
               send_rel.reshape(n, 1, self.n_states, self.reps, self.copies), out=self.arrive)
        arrive = self.arrive.reshape(n, n, self.b)
        if block_s is not None:
            arrive += block_s
        return arrive

    # ------------------------------------------------------------------ one round

    def step(self) -> bool:
        """Simulate one round of every active replica; False once none is active."""
        proposer = proposer_index(self.height, self.round, self.n)
        up = self.online[proposer, self.rows]
        # Round 0 proposes after the previous block and the minimum block interval;
        # a later round once its proposer holds a quorum of ROUND-CHANGEs.
        start = np.where(self.round == 0,
                         self.config.proposal_start_s(self.entered[proposer, self.rows], self.last_proposal),
                         self.rc_ready)
        begin = self.entered.min(axis=0)
        active = (np.where(up, start, begin) < self.horizon_s) & ~self.unreachable
        if not active.any():
            return False
        self.steps += 1
        self.acc["rounds"] += active
        committed = np.zeros(self.b, dtype=bool)
        changed = ~up & active
        proposing = up & active
        if proposing.any():
            committed = self.proposal_round(proposer, proposing, np.where(up, start, begin))
            changed |= proposing & ~committed  # the round timed out before a quorum committed
        if changed.any():
            self.round_change(changed, begin)
        self.height += committed
        self.round = np.where(committed, 0, self.round + changed)
        return True

    def proposal_round(self, proposer: NDArray, proposing: NDArray, start: NDArray) -> NDArray[np.bool_]:
        """An online proposer's round: fill, PRE-PREPARE, PREPARE, COMMIT, finality."""
        taken, mean_arrival, width = self.fill_block(proposing, start)
        block_mb = self.config.block_size_mb(taken)
        pre = self.pre_prepare(proposer, block_mb)
        block_s = self.block_transmission_s(block_mb)
        # A replica with no proposer up has no round start (inf): its rows are NaN here, and
        # every result below is kept only where `proposing`.
        with np.errstate(invalid="ignore"):
            entered_rel = (self.entered - start).astype(np.float32)
        # A node acts in this round only before its round timer fires (then it changes round):
        # it PREPAREs, COMMITs and commits only before then. A round too slow for the timeout
        # (a large block on slow links) fails, and the step treats it as a round change.
        timer_rel = self.config.round_timer_s(entered_rel, self.round)
        commit_send, fast = self.prepare_phase(pre, entered_rel, block_s, timer_rel)
        commit_rel = self.commit_phase(commit_send, pre, fast, block_s)
        # A node commits in this round if its quorum comes before its timer; a node whose
        # timer fires first fetches the block later (a late commit). The block is final once
        # q nodes have it; every node starts the next height when it has it.
        in_time = self.online & (commit_rel < timer_rel)
        late_rel = self.late_commits(in_time, commit_rel, timer_rel, block_mb)
        commit_rel = np.where(in_time, commit_rel, late_rel)
        node_commit = np.where(self.online, commit_rel + start, np.inf)
        # the block in flight at the horizon start had not committed before it
        block_commit = np.maximum(self.select(node_commit.copy(), (self.q_final - 1,))[0], 0.0)
        committed = proposing & np.isfinite(block_commit)
        voted = proposing & ~committed & (pre < timer_rel).any(axis=0)  # a failed round's block is locked
        self.lock = tuple(np.where(voted, new, old) for new, old in
                          zip((taken, mean_arrival, width), self.lock, strict=True))
        self.locked = (self.locked | voted) & ~committed
        self.account(committed, block_commit, taken, mean_arrival)
        self.pool -= np.where(committed, taken, 0)
        self.cursor = np.where(committed, self.cursor + width, self.cursor)
        self.entered = np.where(committed, node_commit, self.entered)
        self.last_proposal = np.where(committed, self.config.proposal_sent_s(start), self.last_proposal)
        return committed

    def late_commits(self, in_time: NDArray, commit_rel: NDArray, timer_rel: NDArray, block_mb: NDArray
                     ) -> NDArray:
        """When each node that did not commit before its timer gets the block by sync, relative
        to the round start ``(N, B)`` (inf: nobody has it, or the node is offline).

        The chain's path: the node's timer fires, it sends ROUND-CHANGE, and the first node
        that has committed the block when that arrives has it fetch the block from there
        (:meth:`ChainConfig.sync_delay_s`: request, transfer, validation).
        """
        late = np.full(commit_rel.shape, np.inf)
        some = in_time.any(axis=0) & (in_time.sum(axis=0) < self.online.sum(axis=0))
        if not some.any():
            return late
        config, n = self.config, self.n
        sent = np.where(self.online & ~in_time, timer_rel, np.inf).astype(np.float32)
        arrive = self.vote_arrivals(sent, "timer")  # [laggard, peer, B]: its ROUND-CHANGE arrives
        has_block = in_time[None, :, :] & (commit_rel[None, :, :] <= arrive)
        prop = config.validator_propagation_s
        fetch = config.sync_delay_s([block_mb], self.bw[None, :, :], self.bw[:, None, :],
                                    prop[:, :, None], prop.T[:, :, None])  # from peer to laggard
        done = np.where(has_block, arrive + fetch, np.inf)
        done[np.arange(n), np.arange(n)] = np.inf
        late[:, some] = done.min(axis=1)[:, some]
        return late

    def fill_block(self, proposing: NDArray, start: NDArray) -> tuple[NDArray, ...]:
        """Poisson arrivals up to the proposal, then the oldest ones up to capacity, or the
        locked block of an earlier round of the height (see ``lock``).

        Returns the transactions taken, their mean arrival time (spread evenly
        between the cursor and the proposal) and the span of the pool they cover (s).
        """
        dt = np.where(proposing, np.maximum(start - self.arrived_until, 0.0), 0.0)
        self.pool += self.draws.arrivals(self.rate, self.stream, self.arrived_until, dt)
        self.arrived_until = self.arrived_until + dt
        taken = self.config.block_tx(self.pool)
        share = np.divide(taken, self.pool, out=np.zeros(self.b), where=self.pool > 0)
        span = self.arrived_until - self.cursor
        taken, mean_arrival, width = (np.where(self.locked, locked, fresh) for locked, fresh in zip(
            self.lock, (taken, self.cursor + span * share / 2.0, span * share), strict=True))
        return taken, mean_arrival, width

    def pre_prepare(self, proposer: NDArray, block_mb: NDArray) -> NDArray[np.float32]:
        """When each node holds the proposal ``(N, B)``: the proposer once the block is
        created, the others after its delay (transmission, propagation, validation, jitter)."""
        config, rows = self.config, self.rows
        send = config.proposal_sent_s(0.0)
        pre = np.asarray(config.message_delay_s(
            MessageKind.PRE_PREPARE, block_mb, self.bw[proposer, rows], self.bw, self.prop_to[:, proposer]
        ))
        pre += send
        jitter = self.window(self.pre_pool, "pre_prepare").reshape(self.n, -1, 1)
        pre.reshape(self.n, -1, self.copies)[...] += jitter
        pre[proposer, rows] = send
        return np.where(self.online, pre, np.inf).astype(np.float32)

    def block_transmission_s(self, block_mb: NDArray) -> NDArray[np.float32] | None:
        """Extra transmission ``(sender, receiver, B)`` of the block carried by every vote, if any."""
        if not self.config.votes_carry_block:
            return None
        extra = (block_mb / self.link_mbps[..., self.scen]).astype(np.float32)
        extra[np.arange(self.n), np.arange(self.n)] = 0.0
        return extra

    def prepare_phase(self, pre: NDArray, entered_rel: NDArray, block_s: NDArray | None, timer_rel: NDArray
                      ) -> tuple[NDArray, Any]:
        """Every node PREPAREs once it holds the proposal, if before its timer. Returns when each
        node sends its COMMIT (inf: never) and, on a fast path, when it commits on PREPAREs alone."""
        prepare_send = np.where(pre < timer_rel, pre, np.float32(np.inf))
        prepares = self.select(self.vote_arrivals(prepare_send, "prepare", block_s), self.prepare_ranks)
        quorum_prepare = np.maximum(prepares[0], pre)  # votes count once the proposal is accepted
        fast = None
        if self.fast_path:
            fast = prepares[1].copy()  # every validator's PREPARE (inf if one is missing)
            commit_send = np.asarray(self.config.commit_send_time_s(quorum_prepare, entered_rel, self.round))
            commit_send = np.where(commit_send < fast, commit_send, np.inf)
        else:
            commit_send = quorum_prepare
        sends = self.online & (commit_send < timer_rel)
        return np.where(sends, commit_send, np.inf).astype(np.float32), fast

    def commit_phase(self, commit_send: NDArray, pre: NDArray, fast: Any, block_s: NDArray | None) -> NDArray:
        """When each node commits (relative to the round start): a quorum of COMMITs, or the fast path."""
        if np.isfinite(commit_send).any():
            arrivals = self.vote_arrivals(commit_send, "commit", block_s)
            node_commit = np.maximum(self.select(arrivals, (self.q_commit - 1,))[0], pre)
        else:  # everyone committed on the fast path: no COMMIT is sent
            node_commit = np.full_like(pre, np.inf)
        if fast is not None:
            node_commit = np.minimum(node_commit, fast)
        return node_commit

    def account(self, committed: NDArray, block_commit: NDArray, taken: NDArray, mean_arrival: NDArray
                ) -> None:
        acc, horizon_s = self.acc, self.horizon_s
        in_window = committed & (block_commit < horizon_s)
        commit_s = np.where(in_window, block_commit, horizon_s)  # no inf * 0 for a failed empty round
        acc["blocks"] += in_window
        acc["tx"] += np.where(in_window, taken, 0)
        acc["latency_sum"] += np.where(in_window, taken * (commit_s - mean_arrival), 0.0)
        acc["served_s"] += np.where(in_window, taken * (horizon_s - commit_s), 0.0)
        acc["last_commit"][in_window] = block_commit[in_window]

    def round_change(self, changed: NDArray, begin: NDArray) -> None:
        """Offline proposer: each online node times out and sends ROUND-CHANGE; f + 1 of
        them from others make a node skip ahead before its own timer; the next
        proposer proposes on a quorum of them (its own included)."""
        n = self.n
        base = np.where(changed, begin, 0.0)
        timer = self.config.round_timer_s(self.entered - base, self.round).astype(np.float32)
        others = self.vote_arrivals(timer, "timer")
        others[np.arange(n), np.arange(n)] = np.inf
        moved = np.minimum(timer, self.select(others, (self.q_skip - 1,))[0])
        self.entered = np.where(changed & self.online, moved + base, self.entered)
        nxt = proposer_index(self.height, self.round + 1, n)
        offset = self.draws.offset(self.steps, "next", self.shifts)
        at_next = self.vote_pool[:, nxt, self.scen, self.column + offset if self.width > 1 else 0] + moved
        ready = self.select(at_next, (self.q_round_change - 1,))[0] + base
        self.rc_ready = np.where(changed, ready, self.rc_ready)

    def finish(self, states: Sequence[Any]) -> dict[str, NDArray[np.float64]]:
        """Per-replica accumulators, with the transaction-seconds waited inside the horizon:
        the backlog and the (expected) arrivals wait until the horizon ends unless a block serves them."""
        acc, horizon_s = self.acc, self.horizon_s
        backlog = np.array([s.backlog_tx for s in states], dtype=float)[self.scen]
        acc["present_tx"] = backlog + self.rate * horizon_s
        # The arrivals' term is their expectation, the service is this replica's: a replica whose
        # Poisson draws brought more than expected can serve more than expected to wait (seen at
        # 6 tx/s over 25 s); it waited at least nothing.
        expected_s = backlog * horizon_s + self.rate * horizon_s**2 / 2.0
        acc["wait_s"] = np.maximum(expected_s - acc.pop("served_s"), 0.0)
        return acc
