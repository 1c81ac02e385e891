"""Several chain configurations of one protocol as columns, for batched simulation.

The round oracle simulates many configurations at once by giving every replica
column its own block capacity, minimum block interval, round timeout,
fast-path timeout and round timer. :class:`ConfigColumns` is the configuration it reads then:
those fields are arrays of shape ``(B,)`` (one value per column, broadcast
over the node axis of the oracle's ``(N, B)`` arrays), everything else is the
shared :class:`~dtopt.consensus.config.ChainConfig`'s.

The rules that read the varying fields are *the same functions* as the
:class:`ChainConfig` methods (``block_tx``, ``proposal_start_s``,
``round_timer_s``, ``commit_send_time_s``), borrowed, not restated: they are
written elementwise and work unchanged with array-valued fields. Every other
attribute (the protocol rules, the message model, the validators) is the base
configuration's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.config import ChainConfig
from dtopt.errors import DtoptError

__all__ = ["VARYING_FIELDS", "ConfigColumns"]

#: The :class:`ChainConfig` fields that may differ between the columns of one batch.
VARYING_FIELDS: Final = ("max_block_mb", "min_block_interval_s", "round_timeout_s", "fast_path_timeout_s",
                         "round_timer")
_TIMES: Final = VARYING_FIELDS[1:4]  # the varying fields that are times (s)


# Every field but the varying ones and the propagation matrix (compared apart).
_SHARED: Final = tuple(
    f.name for f in dataclasses.fields(ChainConfig) if f.name not in {*VARYING_FIELDS, "propagation_s"}
)


def _shared_key(config: ChainConfig) -> tuple:
    return tuple(getattr(config, name) for name in _SHARED)


@dataclass(frozen=True, eq=False)
class ConfigColumns:
    """``configurations`` configurations of one protocol, each over ``repeat`` columns.

    Attributes
    ----------
    base : the first configuration; supplies every field that does not vary.
    configurations : how many configurations (``C``); the configuration is the innermost
        column index (column ``k * C + c`` is configuration ``c``).
    block_capacity_tx : transactions per block, shape ``(C * repeat,)``.
    min_block_interval_s, round_timeout_s, fast_path_timeout_s : shape ``(C * repeat,)`` (s).
    round_timer_doublings : how often each column's round timer may double (0: a fixed
        timer), shape ``(C * repeat,)``; :meth:`ChainConfig.round_timer_factor` reads it.
    """

    base: ChainConfig
    configurations: int
    block_capacity_tx: NDArray[np.int64]
    min_block_interval_s: NDArray[np.float64]
    round_timeout_s: NDArray[np.float64]
    fast_path_timeout_s: NDArray[np.float64]
    round_timer_doublings: NDArray[np.int64]

    @classmethod
    def of(cls, configs: Sequence[ChainConfig], repeat: int) -> ConfigColumns:
        """Columns of ``configs`` (one protocol, otherwise equal but for :data:`VARYING_FIELDS`)."""
        configs = list(configs)
        if not configs or not all(isinstance(c, ChainConfig) for c in configs):
            raise DtoptError("need at least one configuration, each a ChainConfig")
        base = configs[0]
        key = _shared_key(base)
        for config in configs[1:]:
            same_prop = config.propagation_s is base.propagation_s or np.array_equal(
                config.propagation_s, base.propagation_s
            )
            if _shared_key(config) != key or not same_prop:
                raise DtoptError(
                    "configurations simulated together must share the protocol and may differ only "
                    f"in {', '.join(VARYING_FIELDS)}"
                )

        def column(values: list[Any], dtype: type) -> NDArray:
            out = np.tile(np.asarray(values, dtype=dtype), repeat)
            out.setflags(write=False)
            return out

        return cls(
            base=base,
            configurations=len(configs),
            block_capacity_tx=column([c.block_capacity_tx for c in configs], np.int64),
            round_timer_doublings=column([c.round_timer_doublings for c in configs], np.int64),
            **{name: column([getattr(c, name) for c in configs], float) for name in _TIMES},
        )

    def __getattr__(self, name: str) -> Any:
        # Called only for attributes not defined here: the shared fields and rules of the base.
        if name in ("base", "max_block_mb", "round_timer"):  # these vary: read their columns
            raise AttributeError(name)
        return getattr(self.base, name)

    # The rules that read the varying fields, borrowed from ChainConfig (stated there once).
    block_tx = ChainConfig.block_tx
    proposal_start_s = ChainConfig.proposal_start_s
    round_timer_factor = ChainConfig.round_timer_factor
    round_timer_s = ChainConfig.round_timer_s
    commit_send_time_s = ChainConfig.commit_send_time_s
