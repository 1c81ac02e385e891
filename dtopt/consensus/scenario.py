"""Scenarios for the permissioned chain: static configuration plus time-varying regimes.

A :class:`Scenario` is plain data: the nodes and block producers, transaction and
block parameters, message costs, the propagation-latency matrix and a sorted tuple
of :class:`Regime` objects. Each regime holds from its ``start_s`` until the next
one starts (the last one holds forever) and fixes which nodes are offline, every
node's bandwidth, the transaction arrival rate and the network jitter.

Scenarios come from a named preset (:data:`SCENARIOS`) or a TOML/JSON file, see
:func:`load_scenario` and ``docs/chain.md`` for the file format.

Units: seconds, MB, MB/s.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.config import ChainConfig, check_names, check_number
from dtopt.consensus.limits import MAX_NODES, check_duration, check_seed
from dtopt.consensus.protocols import MessageCosts, ProtocolRules, fault_tolerance, get_protocol
from dtopt.errors import DtoptError

__all__ = [
    "SCENARIOS",
    "Regime",
    "Scenario",
    "load_scenario",
    "random_propagation_s",
    "uniform_scenario",
]

#: Default length of a preset's regime schedule when no duration is given (s).
DEFAULT_DURATION_S: Final = 1000.0


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
_SCENARIO_FIELDS: Final = ("config", "regimes", "faulty", "state_period_s", "twin_interval_s", "space")


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
    """

    config: ChainConfig
    regimes: tuple[Regime, ...]
    faulty: tuple[str, ...]
    state_period_s: float
    twin_interval_s: float
    space: Any

    def __init__(
        self,
        config: ChainConfig | None = None,
        regimes: Sequence[Regime] = (),
        faulty: Sequence[str] = (),
        state_period_s: float = 100.0,
        twin_interval_s: float = 25.0,
        space: Any = None,
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
    propagation_s: float = 0.01,
    **fields: Any,
) -> Scenario:
    """A one-regime scenario of identical producers ``bp0..`` on identical links.

    Handy for experiments whose outcome can be computed by hand (and for checking
    the oracle against the chain). ``fields`` override other :class:`Scenario`
    fields (e.g. ``round_timeout_s``, ``regimes``).
    """
    nodes = tuple(f"bp{i}" for i in range(int(n_producers)))
    prop = np.full((len(nodes), len(nodes)), float(propagation_s))
    np.fill_diagonal(prop, 0.0)
    regime = Regime(
        start_s=0.0, offline=tuple(offline), bandwidth_mbps=(float(bandwidth_mbps),) * len(nodes),
        tx_rate_per_s=tx_rate_per_s, jitter_s=jitter_s,
    )
    kwargs: dict[str, Any] = {"nodes": nodes, "producers": nodes, "faulty": (), "regimes": (regime,),
                              "propagation_s": prop}
    kwargs.update(fields)
    return Scenario(**kwargs)


# --------------------------------------------------------------------------- presets

_STEADY_JITTER_S: Final = 0.01
_UNSTABLE_JITTER_S: Final = 0.1


def _preset(kind: str, duration_s: float, seed: int) -> Scenario:
    """The paper experiment (Diamantopoulos et al., 2023, section 4.3) and its two pure variants.

    ``paper``: every TS = 100 s a new regime with bandwidth redrawn uniformly in
    [0.7, 2] MB/s; even regimes have everyone online on a steady network, odd ones
    the 2 faulty producers offline on a jittery network. ``steady``: every regime
    like the paper's even ones; ``faulty``: every regime like its odd ones;
    ``random``: each regime like an odd one with probability 1/2 (seeded), so the
    outages follow no period (for twins that learn one).
    """
    nodes = tuple(f"bp{i}" for i in range(10))
    faulty = ("bp8", "bp9")
    period_s = 100.0
    rng = np.random.default_rng([seed, 0xB10C])
    coin = np.random.default_rng([seed, 0xC011])
    n_regimes = max(1, math.ceil(duration_s / period_s))
    regimes = []
    for k in range(n_regimes):
        bandwidth = tuple(float(b) for b in rng.uniform(0.7, 2.0, len(nodes)))
        down = {"paper": k % 2 == 1, "steady": False, "faulty": True}.get(kind)
        if down is None:  # "random": its own stream, so the bandwidths stay the paper's
            down = bool(coin.random() < 0.5)
        regimes.append(
            Regime(
                start_s=k * period_s,
                offline=faulty if down else (),
                bandwidth_mbps=bandwidth,
                tx_rate_per_s=50.0,
                jitter_s=_UNSTABLE_JITTER_S if down else _STEADY_JITTER_S,
            )
        )
    return Scenario(
        nodes=nodes,
        producers=nodes,
        faulty=faulty,
        regimes=tuple(regimes),
        propagation_s=random_propagation_s(len(nodes), seed),
        state_period_s=period_s,
        twin_interval_s=25.0,
    )


#: Named presets for :func:`load_scenario` (``preset(duration_s, seed) -> Scenario``).
SCENARIOS: Final[dict[str, Callable[[float, int], Scenario]]] = {
    name: (lambda duration_s, seed, _kind=name: _preset(_kind, duration_s, seed))
    for name in ("paper", "steady", "faulty", "random")
}


# --------------------------------------------------------------------------- files

_TOP_KEYS: Final = {
    "nodes", "producers", "faulty", "regimes", "propagation_s", "tx_size_mb", "max_block_mb",
    "min_block_interval_s", "round_timeout_s", "fast_path_timeout_s", "costs", "state_period_s",
    "twin_interval_s", "protocol", "votes_carry_block", "bandwidth_model", "space",
}
_REGIME_KEYS: Final = {"start_s", "offline", "bandwidth_mbps", "tx_rate_per_s", "jitter_s"}
_REGIME_REQUIRED: Final = ("start_s", "bandwidth_mbps", "tx_rate_per_s")


def _check_keys(where: str, data: Any, allowed: set[str], required: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise DtoptError(f"{where} must be a table/object, got {type(data).__name__}")
    extra = sorted(set(data) - allowed)
    if extra:
        raise DtoptError(f"{where}: unknown field(s) {extra}; allowed: {sorted(allowed)}")
    missing = [key for key in required if key not in data]
    if missing:
        raise DtoptError(f"{where}: missing required field(s) {missing}")
    return data


def scenario_from_dict(data: Mapping[str, Any], seed: int = 0, where: str = "scenario") -> Scenario:
    """Build a scenario from parsed TOML/JSON (see docs/chain.md for the fields).

    Required: ``nodes`` and ``regimes`` (each with ``start_s``, ``bandwidth_mbps``,
    ``tx_rate_per_s``). ``producers`` defaults to all nodes, ``faulty`` to none,
    ``propagation_s`` to :func:`random_propagation_s` with ``seed``, the rest to
    the paper's values. A scalar ``bandwidth_mbps`` applies to every node. An
    optional ``space`` (a table of lists, or the text form) is the configuration
    space a twin tunes (:class:`~dtopt.twin.config_search.ConfigurationSpace`).
    """
    data = _check_keys(where, data, _TOP_KEYS, ("nodes", "regimes"))
    nodes = check_names(where, "nodes", data["nodes"])
    if len(nodes) > MAX_NODES:  # before the (nodes x nodes) propagation matrix is drawn
        raise DtoptError(f"{where}: {len(nodes)} nodes exceed the limit of {MAX_NODES:,}")
    raw_regimes = data["regimes"]
    if not isinstance(raw_regimes, Sequence) or isinstance(raw_regimes, str) or not raw_regimes:
        raise DtoptError(f"{where}: regimes must be a non-empty list of tables")
    regimes = []
    for k, raw in enumerate(raw_regimes):
        raw = dict(_check_keys(f"{where}: regimes[{k}]", raw, _REGIME_KEYS, _REGIME_REQUIRED))
        if isinstance(raw["bandwidth_mbps"], int | float) and not isinstance(raw["bandwidth_mbps"], bool):
            raw["bandwidth_mbps"] = (raw["bandwidth_mbps"],) * len(nodes)
        regimes.append(Regime(**raw))
    kwargs = {key: value for key, value in data.items() if key not in ("regimes", "costs", "space")}
    if "space" in data:
        from dtopt.twin.config_search.space import ConfigurationSpace

        raw = data["space"]
        kwargs["space"] = ConfigurationSpace.parse(raw) if isinstance(raw, str) else \
            ConfigurationSpace.from_mapping(raw)
    kwargs.setdefault("producers", nodes)
    kwargs.setdefault("faulty", ())
    if "propagation_s" not in kwargs:
        kwargs["propagation_s"] = random_propagation_s(len(nodes), seed)
    if "costs" in data:
        allowed = {f.name for f in dataclasses.fields(MessageCosts)}
        costs = _check_keys(f"{where}: costs", data["costs"], allowed, ())
        for key, value in costs.items():
            check_number(f"{where}: costs", key, value)
        kwargs["costs"] = MessageCosts(**costs)
    return Scenario(regimes=tuple(regimes), **kwargs)


def load_scenario(name_or_path: str | Path, duration_s: float | None = None, seed: int = 0) -> Scenario:
    """A named preset (``"paper"``, ``"steady"``, ``"faulty"``) or a TOML/JSON scenario file.

    Parameters
    ----------
    name_or_path : preset name (see :data:`SCENARIOS`) or path to a ``.toml``/``.json`` file.
    duration_s : how far a preset's regime schedule reaches (default 1000 s); after
        its last regime the chain keeps the last regime's conditions. Ignored for files.
    seed : seeds the preset's bandwidth draws and the propagation latencies (for files:
        only when the file gives no ``propagation_s``).
    """
    name = str(name_or_path)
    seed = check_seed(seed)
    if name in SCENARIOS:
        duration = DEFAULT_DURATION_S if duration_s is None else check_duration(duration_s)
        return SCENARIOS[name](duration, seed)
    path = Path(name)
    if path.suffix.lower() not in (".toml", ".json"):
        presets = ", ".join(SCENARIOS)
        raise DtoptError(f"unknown scenario {name!r}; choose one of {presets} or a .toml/.json file")
    try:
        text = path.read_bytes()
    except OSError as err:
        raise DtoptError(f"cannot read scenario file {name!r}: {err.strerror or err}") from None
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text.decode("utf-8"))
        else:
            data = json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DtoptError(f"malformed scenario file {name!r}: {first_line}") from None
    try:
        return scenario_from_dict(data, seed=seed, where=f"scenario file {path.name!r}")
    except TypeError as err:  # e.g. a wrongly typed nested value dataclasses cannot take
        raise DtoptError(f"scenario file {path.name!r}: {err}") from None
