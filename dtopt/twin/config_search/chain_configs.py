"""A space's configurations as the chain's configurations.

A :class:`~dtopt.twin.config_search.space.Configuration` sets four fields of a
:class:`~dtopt.consensus.config.ChainConfig`: the protocol, the maximum block
size (``max_block_size_mb`` -> ``max_block_mb``), the minimum block interval and
the round timeout; every other field comes from a base configuration.

One derived field follows the round timeout: BigFoot's fast-path timeout must
stay below it, so it becomes ``min(base.fast_path_timeout_s, round_timeout_s / 2)``:
the base's value while the round timeout is at least twice that, else half the
round timeout (the fast path then gets the first half of the round, as with the
paper's 5 s of a 10 s round).
"""

from __future__ import annotations

from typing import Final

from dtopt.consensus.config import ChainConfig
from dtopt.errors import DtoptError
from dtopt.twin.config_search.space import Configuration, ConfigurationBatch

__all__ = ["chain_config", "chain_configs", "fast_path_timeout_s"]

# Built configurations by (base identity, configuration): a twin deciding every interval asks
# for the same ones again, and building one validates it (tens of microseconds). The base is
# kept with each entry, so an identity is never mistaken for a later object's.
_MEMO: dict[tuple[int, Configuration], tuple[ChainConfig, ChainConfig]] = {}
_MEMO_SIZE: Final = 4096


def fast_path_timeout_s(base: ChainConfig, round_timeout_s: float) -> float:
    """The fast-path timeout (s) used with ``round_timeout_s`` (see the module docstring)."""
    return min(base.fast_path_timeout_s, 0.5 * round_timeout_s)


def chain_config(configuration: Configuration, base: ChainConfig) -> ChainConfig:
    """``base`` with the four fields of ``configuration`` (validated again; memoised)."""
    key = (id(base), configuration)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is base:
        return hit[1]
    if not isinstance(base, ChainConfig):
        raise DtoptError(f"base must be a ChainConfig, got {type(base).__name__}")
    config = base.replace(
        protocol=configuration.protocol,
        max_block_mb=configuration.max_block_size_mb,
        min_block_interval_s=configuration.min_block_interval_s,
        round_timeout_s=configuration.round_timeout_s,
        fast_path_timeout_s=fast_path_timeout_s(base, configuration.round_timeout_s),
    )
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    _MEMO[key] = (base, config)
    return config


def chain_configs(batch: ConfigurationBatch, base: ChainConfig) -> tuple[ChainConfig, ...]:
    """Every configuration of ``batch`` as a chain configuration, in order."""
    if not isinstance(batch, ConfigurationBatch):
        raise DtoptError(f"expected a ConfigurationBatch, got {type(batch).__name__}")
    return tuple(chain_config(configuration, base) for configuration in batch)
