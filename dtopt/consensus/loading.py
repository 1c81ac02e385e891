"""Loading a scenario by name (a preset) or from a TOML, JSON or YAML file (format: ``docs/chain.md``).

Units: seconds, MB, MB/s.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from dtopt.consensus.checks import check_names, check_number
from dtopt.consensus.limits import MAX_NODES, check_duration, check_seed
from dtopt.consensus.presets import DEFAULT_DURATION_S, SCENARIOS
from dtopt.consensus.protocols import MessageCosts
from dtopt.consensus.scenario import Regime, Scenario, random_propagation_s
from dtopt.errors import DtoptError

__all__ = ["load_scenario", "scenario_from_dict"]

_TOP_KEYS: Final = {
    "nodes", "producers", "faulty", "regimes", "propagation_s", "tx_size_mb", "max_block_mb",
    "min_block_interval_s", "round_timeout_s", "fast_path_timeout_s", "round_timer", "costs",
    "state_period_s", "twin_interval_s", "protocol", "votes_carry_block", "bandwidth_model", "space",
    "tx_entry_share",
    "stake", "delegates", "epoch_slots", "slot_s",
}
_REGIME_KEYS: Final = {"start_s", "offline", "bandwidth_mbps", "tx_rate_per_s", "jitter_s"}
_REGIME_REQUIRED: Final = ("start_s", "bandwidth_mbps", "tx_rate_per_s")

# Scenario file suffix -> parser of its text. YAML is read with the safe loader: plain data only.
_READERS: Final[dict[str, Callable[[str], Any]]] = {
    ".toml": tomllib.loads, ".json": json.loads, ".yaml": yaml.safe_load, ".yml": yaml.safe_load,
}


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
    """A named preset (``"paper"``, ``"steady"``, ``"faulty"``, ``"random"``, each also with
    ``-31`` or ``-64`` validators) or a TOML, JSON or YAML scenario file (one format, three
    spellings: the same fields give the same scenario).

    Parameters
    ----------
    name_or_path : preset name (see :data:`SCENARIOS`) or path to a ``.toml``, ``.json``,
        ``.yaml`` or ``.yml`` file.
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
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        presets = ", ".join(SCENARIOS)
        raise DtoptError(f"unknown scenario {name!r}; choose one of {presets} or a .toml/.json/.yaml file")
    try:
        text = path.read_bytes()
    except OSError as err:
        raise DtoptError(f"cannot read scenario file {name!r}: {err.strerror or err}") from None
    try:
        data = reader(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DtoptError(f"malformed scenario file {name!r}: {first_line}") from None
    try:
        return scenario_from_dict(data, seed=seed, where=f"scenario file {path.name!r}")
    except TypeError as err:  # e.g. a wrongly typed nested value dataclasses cannot take
        raise DtoptError(f"scenario file {path.name!r}: {err}") from None
