"""Analyse: turn one interval's outside view into an estimate of the chain's state.

Reads only what the chain publishes (:mod:`dtopt.consensus.view`) plus the
chain's static configuration (:class:`~dtopt.consensus.config.ChainConfig`: the
validators, their propagation latencies, message costs); what may change at run
time (block size, round timeout) is read from each block:

* offline validators: those without a vote in any of the interval's last
  ``recent_blocks`` blocks (recent, so a validator that dropped out or came back
  within the interval is classified by its current state; under DPoS, without a
  block or a confirmation in the last round of delegates' blocks), plus the
  proposers whose turn at the next height has already timed out (no block for
  longer than the round timeout in force, read from the last block);
* per-validator delay: how long after a block's proposal each validator sent its
  PREPARE (the PRE-PREPARE's transmission, propagation, validation and jitter);
* upload bandwidth of each proposer: a PREPARE's delay is
  ``(vote + block size) / bandwidth(proposer) + propagation + block validation +
  jitter``, so subtracting the known propagation and validation and the estimated
  jitter leaves the transmission time. Exponential jitter has standard deviation
  equal to its mean, so the spread of one block's delays over the receivers
  estimates the jitter;
* arrival rate: arrivals over the interval length; backlog from the monitor;
  the round in progress from the last block's proposal and commit times.

Validators that proposed nothing in the interval keep their last estimate
(``prior_bandwidth_mbps`` before any evidence); one last measured no later than
the previous measurements of this interval's proposers is scaled by their
common shift when at least three of them moved the same way by more than a
factor 1.5 (a network-wide drop or recovery reaches every validator, not only
this interval's proposers).

Recovering from a regime change within one interval: what changed inside the
interval is read from its recent part only. The jitter and the bandwidths rest
on the blocks since the set of voters last changed, and the arrival rate on the
interval's second half when the two halves' counts differ by more than Poisson
noise allows (``rate_z`` standard deviations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.config import ChainConfig
from dtopt.consensus.protocols import MessageKind, get_protocol, proposer_index
from dtopt.consensus.timers import rounds_timed_out
from dtopt.consensus.view import BlockRecord
from dtopt.errors import DtoptError
from dtopt.twin.configure import configuration_in_force
from dtopt.twin.monitor import IntervalData, IntervalDataError
from dtopt.twin.oracle import OracleState

__all__ = ["Analyser", "Estimate"]


@dataclass(frozen=True, eq=False)
class Estimate:
    """The twin's belief about the chain at the end of an interval.

    Attributes
    ----------
    t_s : end of the analysed interval (s).
    state : the oracle input built from the estimate.
    offline : validators inferred offline.
    delay_s : each validator's mean PREPARE delay after a proposal, shape ``(N,)`` (s);
        NaN where the interval holds no vote of it.
    measured : which validators' bandwidths were measured in this interval, ``(N,)`` bool.
    n_blocks : blocks the estimate rests on.
    """

    t_s: float
    state: OracleState
    offline: tuple[str, ...]
    delay_s: NDArray[np.float64]
    measured: NDArray[np.bool_]
    n_blocks: int


class Analyser:
    """Estimates the state from interval data, remembering bandwidths across intervals.

    Parameters
    ----------
    config : the chain's configuration.
    prior_bandwidth_mbps : bandwidth assumed for a validator never seen proposing (MB/s).
    recent_blocks : a validator counts as online if it voted in one of the
        interval's last ``recent_blocks`` blocks (>= 1).
    rate_z : a rate change inside the interval is believed beyond this many Poisson
        standard deviations between its halves (> 0).
    """

    def __init__(
        self, config: ChainConfig, prior_bandwidth_mbps: float = 1.0, recent_blocks: int = 2,
        rate_z: float = 3.0,
    ) -> None:
        if not np.isfinite(prior_bandwidth_mbps) or prior_bandwidth_mbps <= 0:
            raise DtoptError(
                f"prior_bandwidth_mbps must be a finite number > 0, got {prior_bandwidth_mbps!r}"
            )
        if isinstance(recent_blocks, bool) or int(recent_blocks) != recent_blocks or recent_blocks < 1:
            raise DtoptError(f"recent_blocks must be an integer >= 1, got {recent_blocks!r}")
        self.recent_blocks = int(recent_blocks)
        if not np.isfinite(rate_z) or rate_z <= 0:
            raise DtoptError(f"rate_z must be a finite number > 0, got {rate_z!r}")
        self.rate_z = float(rate_z)
        self.config = config
        self.index = {name: i for i, name in enumerate(config.validators)}
        self.bandwidth_mbps = np.full(len(config.validators), float(prior_bandwidth_mbps))
        self.jitter_s = 0.0
        self.online = np.ones(len(config.validators), dtype=bool)
        self.seen_s = np.full(len(config.validators), -np.inf)  # when each bandwidth was last measured
        self.last_block: BlockRecord | None = None

    def analyse(self, data: IntervalData) -> Estimate:
        """Estimate the state at the end of ``data``'s interval.

        An interval without a committed block (a stalled chain) keeps the last
        online set, minus the proposers whose turns have timed out since the last
        block. Raises :class:`IntervalDataError` if no block has been seen yet.
        """
        view = data.view
        config = self.config
        n = config.n_validators
        prop = config.validator_propagation_s
        if view.blocks:
            self.last_block = view.blocks[-1]
            voted = np.zeros(n, dtype=bool)
        elif self.last_block is None:
            raise IntervalDataError(f"no committed block yet at {view.end_s:g} s to analyse")
        else:  # a stalled chain: keep who was online, minus the proposers that timed out
            voted = self.online.copy()
        delay_sum = np.zeros(n)
        delay_count = np.zeros(n)
        transmission: dict[int, list[tuple[float, float, float]]] = {}
        spreads = []
        for block in view.blocks[-self.recent_blocks :]:
            voted[[self.index[vote.validator] for vote in block.votes]] = True
        if view.blocks and get_protocol(view.blocks[-1].protocol).slots:
            # DPoS blocks carry the confirmations of two thirds of the delegates, not
            # every validator's vote: a delegate that produced or confirmed one of the
            # last round of blocks is online too
            for block in view.blocks[-config.n_delegates :]:
                voted[[self.index[v.validator] for v in block.votes] + [self.index[block.proposer]]] = True
        for block in _since_last_change(view.blocks):
            proposer = self.index[block.proposer]
            prepares = [
                (self.index[v.validator], v.sent_s)
                for v in block.votes
                if v.phase == MessageKind.PREPARE.value and v.validator != block.proposer
            ]
            if not prepares:
                continue
            who = np.array([i for i, _ in prepares])
            delay = np.array([s for _, s in prepares]) - block.proposed_s
            np.add.at(delay_sum, who, delay)
            np.add.at(delay_count, who, 1)
            residual = config.pre_prepare_transmission_s(delay, prop[proposer, who])  # transmission + jitter
            transmission.setdefault(proposer, []).append(
                (float(residual.mean()),
                 float(config.message_size_mb(MessageKind.PRE_PREPARE, block.size_mb)), block.proposed_s)
            )
            if residual.size > 1:
                spreads.append(float(residual.std(ddof=1)))
        if spreads:
            self.jitter_s = float(np.median(spreads))
        measured = np.zeros(n, dtype=bool)
        before, seen_before = self.bandwidth_mbps.copy(), self.seen_s.copy()
        for proposer, samples in transmission.items():
            seconds = np.array([s for s, _, _ in samples]) - self.jitter_s
            size_mb = np.array([m for _, m, _ in samples])
            ok = seconds > 0
            if ok.any():
                self.bandwidth_mbps[proposer] = float(np.median(size_mb[ok] / seconds[ok]))
                self.seen_s[proposer] = max(t for _, _, t in samples)
                measured[proposer] = True
        # a validator last measured before the others' previous measurements moves with them
        known = measured & np.isfinite(seen_before)
        stale = ~measured & (seen_before <= seen_before[known].max(initial=-np.inf))
        self.bandwidth_mbps[stale] *= _common_shift(self.bandwidth_mbps[known] / before[known])

        last = self.last_block
        # the timer in force at the next height: the last block's, or the one it switches to
        timer = configuration_in_force(last, timer=True)
        stalled_rounds = rounds_timed_out(view.end_s - last.committed_s, timer.round_timeout_s,
                                          timer.round_timer, n)
        voted[proposer_index(last.height + 1, np.arange(stalled_rounds), n)] = False
        self.online = voted.copy()
        offline = tuple(name for name, i in self.index.items() if not voted[i])
        span_s = view.end_s - view.start_s
        state = OracleState(
            online=voted,
            bandwidth_mbps=self.bandwidth_mbps.copy(),
            tx_rate_per_s=self._rate_per_s(np.asarray(view.tx_arrival_s, dtype=float), view.start_s, span_s),
            jitter_s=self.jitter_s,
            backlog_tx=data.backlog_tx,
            backlog_age_s=data.backlog_age_s,
            next_height=last.height + 1,
            round_elapsed_s=max(view.end_s - last.committed_s, 0.0),
            since_proposal_s=max(view.end_s - last.proposed_s, 0.0),
            now_s=view.end_s,
            in_force=configuration_in_force(last).protocol,
        )
        with np.errstate(invalid="ignore"):
            delay_s = delay_sum / delay_count
        return Estimate(
            t_s=view.end_s,
            state=state,
            offline=offline,
            delay_s=delay_s,
            measured=measured,
            n_blocks=len(view.blocks),
        )

    def _rate_per_s(self, arrival_s: NDArray[np.float64], start_s: float, span_s: float) -> float:
        """Arrivals per second over the interval, or over its second half if the rate moved."""
        half = int(np.count_nonzero(arrival_s >= start_s + span_s / 2.0))
        first = arrival_s.size - half
        if abs(half - first) > self.rate_z * np.sqrt(max(arrival_s.size, 1)):
            return half / (span_s / 2.0)
        return arrival_s.size / span_s


def _since_last_change(blocks: tuple[BlockRecord, ...]) -> tuple[BlockRecord, ...]:
    """The blocks since the set of voters last changed (all of them if it did not)."""
    voters = [frozenset(v.validator for v in b.votes) for b in blocks]
    changes = [k for k in range(1, len(voters)) if voters[k] != voters[k - 1]]
    return blocks[changes[-1]:] if changes else blocks


def _common_shift(ratios: NDArray[np.float64], share: float = 0.75, beyond: float = 1.5) -> float:
    """The factor by which the measured bandwidths moved together, or 1: when at least
    ``share`` of at least three ratios (new over old) lie beyond ``beyond`` on the same
    side, their median."""
    if ratios.size < 3:
        return 1.0
    for side in (ratios >= beyond, ratios <= 1.0 / beyond):
        if side.mean() >= share:
            return float(np.median(ratios))
    return 1.0
