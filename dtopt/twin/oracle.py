"""The twin's vectorised round oracle.

Given an estimate of the chain's state, the oracle simulates ``R`` Monte Carlo
replicas of consecutive consensus rounds at once. Every per-round quantity is an
array over ``(replicas, nodes)`` or ``(senders, replicas, receivers)``; quorum
times are order statistics over the sender axis, taken by a selection network
(:mod:`dtopt.twin.network`: a fixed sequence of ``np.minimum``/``np.maximum``
over contiguous sender rows) or, as the reference, by ``np.partition``. The only
Python loop is over consecutive rounds, one phase function per protocol step
(:mod:`dtopt.twin.rounds`).

The rules (quorums, fast path, commit sending, message delays, timers, block
filling, proposer rotation, block finality) come from the chain's
:class:`~dtopt.consensus.config.ChainConfig` and
:mod:`dtopt.consensus.protocols`, the same statements the message-level chain
simulator follows.

Transactions are tracked as a FIFO pool per replica: a count plus the arrival
time of the oldest pooled transaction (the "cursor"). Between proposals, Poisson
arrivals join the pool; a proposer takes the oldest transactions up to the
maximum block size, whose arrival times are treated as spread evenly between the
cursor and the proposal time. That gives each block's summed transaction latency
without storing individual transactions.

:meth:`RoundOracle.sample` is the cost function of the configuration search: per
replica samples of many configurations of the chain for one state, all
configurations of a protocol in one round loop (their block capacity, minimum
block interval and timeouts as per-column arrays, see
:class:`~dtopt.consensus.columns.ConfigColumns`), with common random numbers
(:class:`~dtopt.twin.draws.CommonDraws`): replica ``r`` of every configuration
sees the same arrivals and network jitter, so the configurations' differences
are not drowned in sampling noise, and a configuration's samples do not depend
on which others are in the batch.

Units: seconds, MB, MB/s, transactions per second. Times inside one prediction
are relative to the start of the horizon (0 = now).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.columns import ConfigColumns
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.limits import check_oracle_size, check_seed
from dtopt.consensus.protocols import get_protocol
from dtopt.errors import DtoptError
from dtopt.twin.config_search.chain_configs import chain_configs
from dtopt.twin.config_search.space import ConfigurationBatch
from dtopt.twin.dpos_rounds import DposLoop
from dtopt.twin.draws import CommonDraws
from dtopt.twin.network import SelectionNetwork
from dtopt.twin.predictions import OraclePrediction, OracleSamples
from dtopt.twin.rounds import RoundLoop

__all__ = ["OraclePrediction", "OracleSamples", "OracleState", "RoundOracle"]

# A prediction never runs more rounds than this per replica (guards a horizon far
# longer than the rounds it would take, e.g. a stalled chain).
_MAX_ROUNDS = 100_000

# How order statistics over the sender axis are taken (same values, different speed).
ORDER_STATISTICS = ("network", "partition")


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    value = float(value)
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise DtoptError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}")
    return value


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
    now_s : chain time at the horizon's start (s): DPoS's slot schedule and election
        run on chain time.
    in_force : the protocol in force at the horizon's start, or ``None`` (unknown: taken
        to be the one predicted). Under DPoS the backlog mostly sits in tentative blocks
        already; under a BFT protocol it is all in the pool.
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
    now_s: float = 0.0
    in_force: str | None = None

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
        _positive("now_s", self.now_s, allow_zero=True)
        if self.in_force is not None:
            object.__setattr__(self, "in_force", get_protocol(self.in_force).name)
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


def _nan_std(values: NDArray[np.float64]) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.std()) if finite.size > 1 else 0.0


class RoundOracle:
    """Monte Carlo round simulator over replicas and validators.

    Parameters
    ----------
    config : the chain's configuration (the protocol is chosen per prediction).
    replicas : Monte Carlo replicas ``R`` per state (>= 1).
    seed : seed of the random generator; every prediction restarts from it, so
        the same inputs always give the same prediction.
    order_statistics : ``"network"`` (default, a selection network per needed
        rank) or ``"partition"`` (``np.partition``, the reference). Both give
        exactly the same predictions; the network is several times faster for
        about 10 validators.
    """

    def __init__(
        self, config: ChainConfig, replicas: int = 256, seed: int = 0, order_statistics: str = "network"
    ) -> None:
        if not isinstance(config, ChainConfig):
            raise DtoptError(f"config must be a ChainConfig, got {type(config).__name__}")
        if isinstance(replicas, bool) or int(replicas) != replicas or replicas < 1:
            raise DtoptError(f"replicas must be an integer >= 1, got {replicas!r}")
        check_oracle_size(len(config.validators), replicas)
        seed = check_seed(seed)
        if order_statistics not in ORDER_STATISTICS:
            raise DtoptError(
                f"order_statistics must be one of {', '.join(ORDER_STATISTICS)}, got {order_statistics!r}"
            )
        self.config = config
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
        config = self.config.replace(protocol=protocol)
        horizon_s = _positive("horizon_s", horizon_s)
        states = list(states)
        if not states:
            raise DtoptError("need at least one state to predict")
        n = self.config.n_validators
        for st in states:
            if not isinstance(st, OracleState) or st.online.shape != (n,):
                raise DtoptError(f"each state must be an OracleState over the chain's {n} validators")
        acc = self._simulate(states, config, self.replicas, horizon_s, np.random.default_rng(self.seed))
        r = self.replicas
        return tuple(
            _summarise(config.protocol, horizon_s, r, {k: v[i * r : (i + 1) * r] for k, v in acc.items()})
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

    def sample(
        self,
        state: OracleState,
        configs: Sequence[ChainConfig] | ConfigurationBatch,
        horizon_s: float,
        replicas: int,
        seed: int | None = None,
    ) -> OracleSamples:
        """Per-replica samples of every configuration in ``configs`` for ``state``.

        ``configs``: chain configurations over this chain's validators (configurations
        of one protocol may differ only in block size, block interval and timeouts),
        or a :class:`ConfigurationBatch` applied to this oracle's configuration
        (:func:`~dtopt.twin.config_search.chain_configs.chain_configs`). The
        configurations of each protocol run in one round loop, ``replicas`` columns
        each, on common random numbers drawn from ``seed`` (default: the oracle's):
        a configuration's samples are the same whatever else is in ``configs``.
        """
        if isinstance(configs, ConfigurationBatch):
            configs = chain_configs(configs, self.config)
        configs = tuple(configs)
        n = self.config.n_validators
        if not configs or not all(isinstance(c, ChainConfig) and c.n_validators == n for c in configs):
            raise DtoptError(f"configs must be one or more ChainConfigs over the chain's {n} validators")
        if not isinstance(state, OracleState) or state.online.shape != (n,):
            raise DtoptError(f"state must be an OracleState over the chain's {n} validators")
        horizon_s = _positive("horizon_s", horizon_s)
        if isinstance(replicas, bool) or not isinstance(replicas, int | np.integer) or replicas < 1:
            raise DtoptError(f"replicas must be an integer >= 1, got {replicas!r}")
        replicas = int(replicas)
        check_oracle_size(n, len(configs) * replicas)
        seed = self.seed if seed is None else check_seed(seed)
        draws = CommonDraws(seed, np.array([state.tx_rate_per_s]), replicas, horizon_s)
        shape = (len(configs), replicas)
        out = {key: np.empty(shape) for key in ("tx_latency_s", "throughput_tps", "wait_s", "blocks")}
        stand_in_s = horizon_s + (state.backlog_age_s if state.backlog_tx > 0 else 0.0)
        for protocol in dict.fromkeys(c.protocol for c in configs):
            members = [i for i, c in enumerate(configs) if c.protocol == protocol]
            columns = ConfigColumns.of([configs[i] for i in members], replicas)
            acc = self._simulate([state], columns, replicas, horizon_s, draws)
            tx, present = acc["tx"], acc["present_tx"]
            with np.errstate(invalid="ignore", divide="ignore"):
                latency = np.where(tx > 0, acc["latency_sum"] / tx, stand_in_s)
                wait = np.where(present > 0, acc["wait_s"] / present, 0.0)
            for key, values in (("tx_latency_s", latency), ("throughput_tps", tx / horizon_s),
                                ("wait_s", wait), ("blocks", acc["blocks"])):
                out[key][members] = values.reshape(replicas, len(members)).T
        return OracleSamples(configs=configs, horizon_s=horizon_s, **out)

    def _simulate(
        self, states: list[OracleState], config: ChainConfig | ConfigColumns, replicas: int,
        horizon_s: float, draws: np.random.Generator | CommonDraws,
    ) -> dict[str, NDArray[np.float64]]:
        """Run the round loop for every replica of every state (and configuration); per-column
        accumulators."""
        loop = DposLoop if config.rules.slots else RoundLoop
        rounds = loop(config, states, replicas, draws, self._select, horizon_s)
        for _ in range(_MAX_ROUNDS):
            if not rounds.step():
                break
        return rounds.finish(states)


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
