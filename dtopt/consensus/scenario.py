"""Scenarios for the permissioned chain: static configuration plus time-varying regimes.

A :class:`Scenario` is plain data: the nodes and block producers, transaction and
block parameters, message costs, the propagation-latency matrix and a sorted tuple
of :class:`Regime` objects. Each regime holds from its ``start_s`` until the next
one starts (the last one holds forever) and fixes which nodes are offline, every
node's bandwidth, the transaction arrival rate and the network jitter.

Scenarios come from :func:`uniform_scenario`, a named preset
(:mod:`dtopt.consensus.presets`), a TOML/JSON file (:mod:`dtopt.consensus.loading`,
``docs/chain.md`` has the format) or a placement result
(:func:`dtopt.scenario_from_placement`).

Units: seconds, MB, MB/s.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtopt.consensus.checks import check_names, check_number
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.limits import check_seed
from dtopt.consensus.protocols import ProtocolRules, fault_tolerance, get_protocol
from dtopt.errors import DtoptError

__all__ = [
    "Regime",
    "Scenario",
    "random_propagation_s",
    "uniform_scenario",
]

@dataclass(frozen=True)
class Regime:
    """The conditions that hold from ``start_s`` until the next regime starts.

    Attributes
    ----------
    start_s : start of the regime (s of chain time).
    offline : names of the nodes that are offline (crashed) in this regime.
    bandwidth_mbps : every node's upload bandwidth (MB/s), one per scenario node, > 0.
    tx_rate_per_s : Poisson transaction arrival rate (tx/s), >= 0.
    jitter_s : mean of the exponential per-message network jitter (s); 0 = steady network.
    """

    start_s: float
    offline: tuple[str, ...] = ()
    bandwidth_mbps: tuple[float, ...] = ()
    tx_rate_per_s: float = 0.0
    jitter_s: float = 0.0

    def __post_init__(self) -> None:
        where = f"regime at {self.start_s!r} s"
        object.__setattr__(self, "start_s", check_number(where, "start_s", self.start_s))
        object.__setattr__(self, "offline", check_names(where, "offline", self.offline))
        if isinstance(self.bandwidth_mbps, str) or not isinstance(self.bandwidth_mbps, Sequence):
            raise DtoptError(f"{where}: bandwidth_mbps must be a list (one per node)")
        bandwidth = tuple(
            check_number(where, "bandwidth_mbps", b, strict=True) for b in self.bandwidth_mbps
        )
        object.__setattr__(self, "bandwidth_mbps", bandwidth)
        object.__setattr__(self, "tx_rate_per_s", check_number(where, "tx_rate_per_s", self.tx_rate_per_s))
        object.__setattr__(self, "jitter_s", check_number(where, "jitter_s", self.jitter_s))


#: Scenario fields that are not the chain's configuration.
_SCENARIO_FIELDS: Final = (
    "config", "regimes", "faulty", "state_period_s", "twin_interval_s", "space", "tx_entry_share",
)


@dataclass(frozen=True, eq=False, init=False)
class Scenario:
    """A complete chain scenario (validated on construction; bad values raise DtoptError).

    ``Scenario(nodes=..., producers=..., regimes=..., propagation_s=..., ...)`` takes
    the configuration's fields flat (``producers`` are the config's ``validators``)
    or a ready ``config=``; the chain's configuration is then :attr:`config`, and
    the flat names (``scenario.round_timeout_s``...) read it.

    Attributes
    ----------
    config : the chain's configuration at genesis (:class:`ChainConfig`: nodes,
        producers, block limits, timeouts, message model, propagation).
    regimes : the time-varying conditions, sorted by ``start_s``; the first starts at 0.
    faulty : producers that the scenario's regimes take offline (at most f = floor((M-1)/3)).
    state_period_s : TS, how often the preset's state changes (s).
    twin_interval_s : TI, how often the twin receives data (s).
    space : the configuration space a twin may tune
        (:class:`~dtopt.twin.config_search.ConfigurationSpace`), or ``None``: the
        twin's own data, which the chain does not read.
    tx_entry_share : where transactions enter the chain: the share of the arrival
        rate submitted at each producer, shape ``(M,)``, summing to 1 (given as any
        non-negative weights, normalised here), so producer v's stream is Poisson at
        ``share[v]`` times the regime's rate; a transaction reaches the other pools as
        :meth:`~dtopt.consensus.ChainConfig.tx_pool_delay_s` says. ``()`` (default):
        every transaction is in every pool on arrival.
    """

    config: ChainConfig
    regimes: tuple[Regime, ...]
    faulty: tuple[str, ...]
    state_period_s: float
    twin_interval_s: float
    space: Any
    tx_entry_share: tuple[float, ...]

    def __init__(
        self,
        config: ChainConfig | None = None,
        regimes: Sequence[Regime] = (),
        faulty: Sequence[str] = (),
        state_period_s: float = 100.0,
        twin_interval_s: float = 25.0,
        space: Any = None,
        tx_entry_share: Sequence[float] = (),
        *,
        producers: Sequence[str] | None = None,
        **config_fields: Any,
    ) -> None:
        if producers is not None:
            config_fields["validators"] = producers
        if config is None:
            config = ChainConfig(**config_fields)
        elif not isinstance(config, ChainConfig):
            raise DtoptError(f"scenario: config must be a ChainConfig, got {type(config).__name__}")
        elif config_fields:
            config = config.replace(**config_fields)
        where = "scenario"
        object.__setattr__(self, "config", config)
        for name in ("state_period_s", "twin_interval_s"):
            value = locals()[name]
            object.__setattr__(self, name, check_number(where, name, value, strict=True))
        faulty = check_names(where, "faulty", faulty)
        if len(faulty) > config.n_validators:
            raise DtoptError(
                f"scenario: {len(faulty)} faulty nodes but only {config.n_validators} block producers"
            )
        unknown = sorted(set(faulty) - set(config.validators))
        if unknown:
            raise DtoptError(f"scenario: faulty nodes {unknown} are not block producers")
        f_max = fault_tolerance(config.n_validators)
        if len(faulty) > f_max:
            raise DtoptError(
                f"scenario: {len(faulty)} faulty nodes exceed f = {f_max} that a quorum of "
                f"{config.n_validators} producers tolerates (3f + 1 <= M)"
            )
        object.__setattr__(self, "faulty", faulty)
        object.__setattr__(self, "regimes", self._checked_regimes(regimes))
        from dtopt.twin.config_search.space import ConfigurationSpace  # the twin's type; no import cycle

        if space is not None and not isinstance(space, ConfigurationSpace):
            raise DtoptError(f"scenario: space must be a ConfigurationSpace, got {type(space).__name__}")
        object.__setattr__(self, "space", space)
        object.__setattr__(self, "tx_entry_share", self._checked_share(tx_entry_share))

    def _checked_share(self, weights: Sequence[float]) -> tuple[float, ...]:
        if isinstance(weights, str) or not isinstance(weights, Sequence | np.ndarray):
            raise DtoptError("scenario: tx_entry_share must be a list of weights, one per producer")
        values = [check_number("scenario", "tx_entry_share", w) for w in weights]
        if not values:
            return ()
        if len(values) != self.n_producers:
            raise DtoptError(
                f"scenario: tx_entry_share has {len(values)} weights for {self.n_producers} producers"
            )
        total = sum(values)
        if total <= 0:
            raise DtoptError("scenario: tx_entry_share must give some producer a positive weight")
        return tuple(w / total for w in values)

    def _checked_regimes(self, regimes: Sequence[Regime]) -> tuple[Regime, ...]:
        regimes = tuple(regimes)
        if not regimes or not all(isinstance(r, Regime) for r in regimes):
            raise DtoptError("scenario: regimes must be a non-empty list of Regime")
        if regimes[0].start_s != 0:
            raise DtoptError(f"scenario: the first regime must start at 0 s, not {regimes[0].start_s:g}")
        starts = [r.start_s for r in regimes]
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise DtoptError("scenario: regime start times must be strictly increasing")
        known = set(self.nodes)
        for regime in regimes:
            if len(regime.bandwidth_mbps) != len(self.nodes):
                raise DtoptError(
                    f"regime at {regime.start_s:g} s: bandwidth_mbps has {len(regime.bandwidth_mbps)} "
                    f"values for {len(self.nodes)} nodes"
                )
            unknown = sorted(set(regime.offline) - known)
            if unknown:
                raise DtoptError(f"regime at {regime.start_s:g} s: offline nodes {unknown} are not in nodes")
        return regimes

    # The configuration's fields, read through (the config is their one home).

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.config.nodes

    @property
    def producers(self) -> tuple[str, ...]:
        return self.config.validators

    def __getattr__(self, name: str) -> Any:
        # only reached for names that are not Scenario attributes: the config's fields
        if name in _CONFIG_FIELDS:
            return getattr(self.config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_producers(self) -> int:
        return self.config.n_validators

    def regime_index(self, t_s: float) -> int:
        """Index of the regime in force at ``t_s``."""
        starts = [r.start_s for r in self.regimes]
        return max(0, int(np.searchsorted(starts, t_s, side="right")) - 1)

    def regime_at(self, t_s: float) -> Regime:
        """The regime in force at chain time ``t_s``."""
        return self.regimes[self.regime_index(t_s)]

    def rules(self, protocol: str | ProtocolRules) -> ProtocolRules:
        """The rules of ``protocol`` (a name, case-insensitive); DtoptError if unknown."""
        return get_protocol(protocol)

    def with_(self, **changes: Any) -> Scenario:
        """A copy with some scenario or configuration fields replaced (validated again)."""
        own = {k: v for k, v in changes.items() if k in _SCENARIO_FIELDS}
        fields = {k: v for k, v in changes.items() if k not in _SCENARIO_FIELDS}
        kwargs = {name: own.get(name, getattr(self, name)) for name in _SCENARIO_FIELDS}
        return Scenario(**kwargs, **fields)


#: Configuration fields a Scenario reads through to its config (``producers`` included).
_CONFIG_FIELDS: Final = frozenset(f.name for f in dataclasses.fields(ChainConfig)) | {
    "block_capacity_tx", "validator_propagation_s",
}


def random_propagation_s(
    n_nodes: int, seed: int, min_s: float = 0.005, max_s: float = 0.05
) -> NDArray[np.float64]:
    """Seeded propagation latencies: nodes placed uniformly in a disc-shaped region.

    Latency grows linearly with distance, from ``min_s`` (same spot) to ``max_s``
    (opposite ends of the region). Returns a symmetric ``(n_nodes, n_nodes)``
    matrix (s) with a zero diagonal.
    """
    rng = np.random.default_rng([check_seed(seed), 0x9E3779B9])
    radius = np.sqrt(rng.uniform(0.0, 1.0, n_nodes))
    angle = rng.uniform(0.0, 2.0 * np.pi, n_nodes)
    xy = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    distance = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)  # in [0, 2]
    latency = min_s + (max_s - min_s) * distance / 2.0
    np.fill_diagonal(latency, 0.0)
    return latency


def uniform_scenario(
    n_producers: int,
    *,
    offline: Sequence[str] = (),
    bandwidth_mbps: float = 1.0,
    tx_rate_per_s: float = 0.0,
    jitter_s: float = 0.0,
    propagation_s: float | ArrayLike = 0.01,
    names: Sequence[str] | None = None,
    **fields: Any,
) -> Scenario:
    """A one-regime scenario of identical producers (``bp0..`` unless ``names`` are given).

    Handy for experiments whose outcome can be computed by hand (and for checking
    the oracle against the chain). ``propagation_s`` is one latency for every link
    (s) or the ``(n, n)`` matrix of them. ``fields`` override other
    :class:`Scenario` fields (e.g. ``round_timeout_s``, ``regimes``).
    """
    nodes = tuple(f"bp{i}" for i in range(int(n_producers))) if names is None else tuple(names)
    if len(nodes) != int(n_producers):
        raise DtoptError(f"uniform scenario: {len(nodes)} names for {n_producers} producers")
    if np.ndim(propagation_s) == 0:
        prop = np.full((len(nodes), len(nodes)), float(propagation_s))
        np.fill_diagonal(prop, 0.0)
    else:
        prop = propagation_s  # the configuration checks its shape and values
    regime = Regime(
        start_s=0.0, offline=tuple(offline), bandwidth_mbps=(float(bandwidth_mbps),) * len(nodes),
        tx_rate_per_s=tx_rate_per_s, jitter_s=jitter_s,
    )
    kwargs: dict[str, Any] = {"nodes": nodes, "producers": nodes, "faulty": (), "regimes": (regime,),
                              "propagation_s": prop}
    kwargs.update(fields)
    return Scenario(**kwargs)

