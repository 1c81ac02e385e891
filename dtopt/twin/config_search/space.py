"""The chain's configuration space: protocols x block sizes x block intervals x round timeouts
(x round timers).

A :class:`ConfigurationSpace` is the cartesian product of four user-given lists, and
of a fifth, the round timers (``"doubling"``, ``"fixed"``), when it is given: by
default the space does not tune the timer and every configuration keeps the
chain's own (its ``round_timer`` is ``None``).
Its configurations are enumerated protocol-major (then block size, block
interval, round timeout, round timer, each in the order given), either one at a time as
frozen :class:`Configuration` records, whose field names are those of the
chain's configuration, or as a :class:`ConfigurationBatch` of numpy arrays for
vectorised cost functions.

Defaults (``ConfigurationSpace()``, 2 x 4 x 4 x 4 = 128 configurations) bracket
the paper's setting (1 MB blocks, 0.1 s minimum interval, 10 s round timeout):
block sizes 0.5, 1, 2 and 4 MB (half to four times the paper's), intervals 0.1,
0.5, 1 and 2 s (from the paper's to one a slow chain would use to batch), and
round timeouts 3, 5, 10 and 20 s (3 s is about the shortest in which a round of
10 validators at 1 MB/s can still commit a 1 MB block; 20 s is double the
paper's).

The text form, for a command line or a scenario file, is ``;``-separated
``key=value,value`` sections, e.g.
``protocol=IBFT,BigFoot;block=0.5,1,2;interval=0.1,0.5;timeout=5,10``; a key
left out takes its default list. Keys (with aliases): ``protocol``
(``protocols``), ``block`` (``block_mb``, ``max_block_size_mb``), ``interval``
(``interval_s``, ``min_block_interval_s``), ``timeout`` (``timeout_s``,
``round_timeout_s``), ``timer`` (``round_timer``: ``doubling``, ``fixed``; left
out, the chain's own timer). Units: MB and seconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.protocols import PROTOCOLS
from dtopt.consensus.timers import ROUND_TIMERS
from dtopt.errors import DtoptError
from dtopt.twin.config_search.configuration import Configuration, ConfigurationBatch

__all__ = [
    "DEFAULT_BLOCK_INTERVALS_S",
    "DEFAULT_BLOCK_SIZES_MB",
    "DEFAULT_PROTOCOLS",
    "DEFAULT_ROUND_TIMEOUTS_S",
    "MAX_CONFIGURATIONS",
    "Configuration",
    "ConfigurationBatch",
    "ConfigurationSpace",
]

DEFAULT_PROTOCOLS: tuple[str, ...] = ("IBFT", "BigFoot")
DEFAULT_BLOCK_SIZES_MB: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
DEFAULT_BLOCK_INTERVALS_S: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0)
DEFAULT_ROUND_TIMEOUTS_S: tuple[float, ...] = (3.0, 5.0, 10.0, 20.0)

# A space is enumerated into arrays; beyond this it is a typo, not a search problem.
MAX_CONFIGURATIONS = 100_000

# Canonical key of each accepted spelling, and the unit and description of each axis.
_KEYS = {
    "protocol": "protocols", "protocols": "protocols",
    "block": "max_block_sizes_mb", "block_mb": "max_block_sizes_mb",
    "max_block_size_mb": "max_block_sizes_mb",
    "interval": "min_block_intervals_s", "interval_s": "min_block_intervals_s",
    "min_block_interval_s": "min_block_intervals_s",
    "timeout": "round_timeouts_s", "timeout_s": "round_timeouts_s", "round_timeout_s": "round_timeouts_s",
    "timer": "round_timers", "round_timer": "round_timers",
}
_SHORT = {
    "protocols": "protocol", "max_block_sizes_mb": "block",
    "min_block_intervals_s": "interval", "round_timeouts_s": "timeout", "round_timers": "timer",
}
_NAMED = ("protocols", "round_timers")  # the axes of names, not numbers
_WHAT = {
    "max_block_sizes_mb": ("block sizes", "MB"),
    "min_block_intervals_s": ("block intervals", "s"),
    "round_timeouts_s": ("round timeouts", "s"),
}


def _read_only(values: NDArray) -> NDArray:
    values.setflags(write=False)
    return values


def _protocol_name(value: Any) -> str:
    for name in PROTOCOLS:
        if isinstance(value, str) and name.lower() == value.strip().lower():
            return name
    raise DtoptError(
        f"configuration space: unknown protocol {value!r}; choose among {', '.join(PROTOCOLS)}"
    )


def _positive_values(key: str, values: Sequence[Any]) -> tuple[float, ...]:
    what, unit = _WHAT[key]
    out = []
    for value in values:
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError, OverflowError):
            raise DtoptError(f"configuration space: {what} must be numbers ({unit}), got {value!r}") from None
        if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
            raise DtoptError(f"configuration space: {what} must be finite numbers > 0 {unit}, got {value!r}")
        out.append(number)
    return tuple(out)


def _timer_name(value: Any) -> str:
    name = value.strip().lower() if isinstance(value, str) else value
    if name not in ROUND_TIMERS:
        raise DtoptError(
            f"configuration space: unknown round timer {value!r}; choose among {', '.join(ROUND_TIMERS)}"
        )
    return name


def _check_axis(key: str, values: tuple[Any, ...]) -> None:
    what = _WHAT.get(key, (key.replace("_", " "), ""))[0]
    if key == "round_timers" and not values:
        return  # not tuned: the chain's own timer
    if not values:
        raise DtoptError(f"configuration space: no {what} given (an empty space)")
    seen = [v for i, v in enumerate(values) if v in values[:i]]
    if seen:
        raise DtoptError(f"configuration space: duplicate {what}: {seen[0]!r}")


@dataclass(frozen=True)
class ConfigurationSpace:
    """The cartesian product of the lists (validated, canonical, immutable).

    Parameters
    ----------
    protocols : protocol names (case-insensitive; stored by their canonical name).
    max_block_sizes_mb : maximum block sizes (MB), each > 0.
    min_block_intervals_s : minimum block intervals (s), each > 0.
    round_timeouts_s : round timeouts (s), each > 0.
    round_timers : round timers (``"doubling"``, ``"fixed"``); empty (default): not tuned,
        every configuration keeps the chain's own timer.

    Every list must be non-empty and free of duplicates; any violation raises one
    :class:`~dtopt.errors.DtoptError`. Checks that need the chain's message
    model are in :meth:`validate_against`.
    """

    protocols: tuple[str, ...] = DEFAULT_PROTOCOLS
    max_block_sizes_mb: tuple[float, ...] = DEFAULT_BLOCK_SIZES_MB
    min_block_intervals_s: tuple[float, ...] = DEFAULT_BLOCK_INTERVALS_S
    round_timeouts_s: tuple[float, ...] = DEFAULT_ROUND_TIMEOUTS_S
    round_timers: tuple[str, ...] = ()
    _grid: tuple[NDArray[np.int64], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key in _SHORT:
            raw = getattr(self, key)
            if isinstance(raw, str | bytes) or not isinstance(raw, Sequence | np.ndarray):
                raise DtoptError(f"configuration space: {key} must be a list, got {raw!r}")
            values = tuple(raw)
            if key in _NAMED:
                clean = tuple((_protocol_name if key == "protocols" else _timer_name)(v) for v in values)
            else:
                clean = _positive_values(key, values)
            _check_axis(key, clean)
            object.__setattr__(self, key, clean)
        if len(self) > MAX_CONFIGURATIONS:
            raise DtoptError(
                f"configuration space: {len(self)} configurations, more than the {MAX_CONFIGURATIONS} allowed"
            )
        grid = np.unravel_index(np.arange(len(self)), self._shape)
        object.__setattr__(self, "_grid", tuple(_read_only(g.astype(np.int64)) for g in grid))

    @classmethod
    def parse(cls, text: str) -> ConfigurationSpace:
        """A space from its text form (see the module docstring); keys left out take the defaults."""
        if not isinstance(text, str):
            raise DtoptError(f"configuration space: expected text, got {type(text).__name__}")
        sections: dict[str, list[str]] = {}
        for part in text.split(";"):
            if not part.strip():
                continue
            key, sep, values = part.partition("=")
            if not sep:
                raise DtoptError(f"configuration space: section {part.strip()!r} is not key=value,value,...")
            if key.strip().lower() in sections:
                raise DtoptError(f"configuration space: {key.strip()} given twice")
            sections[key.strip().lower()] = values.split(",")
        if not sections:
            raise DtoptError("configuration space: empty specification (an empty space)")
        return cls.from_mapping(sections)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> ConfigurationSpace:
        """A space from a mapping (a scenario file's section): key -> list or comma-separated text."""
        if not isinstance(mapping, Mapping):
            raise DtoptError(f"configuration space: expected a table of lists, got {type(mapping).__name__}")
        lists: dict[str, tuple[Any, ...]] = {}
        for raw_key, raw in mapping.items():
            key = _KEYS.get(str(raw_key).strip().lower())
            if key is None:
                raise DtoptError(
                    f"configuration space: unknown key {raw_key!r}; use protocol, block, interval, timeout,"
                    " timer"
                )
            if key in lists:
                raise DtoptError(f"configuration space: {_SHORT[key]} given twice")
            values = raw.split(",") if isinstance(raw, str) else raw
            if isinstance(values, list | tuple):
                values = [v.strip() if isinstance(v, str) else v for v in values]
                if any(v == "" for v in values):
                    raise DtoptError(f"configuration space: empty value in the {_SHORT[key]} list")
            lists[key] = values
        return cls(**lists)

    def spec(self) -> str:
        """The text form, which :meth:`parse` reads back into an equal space."""
        return ";".join(
            f"{_SHORT[key]}={','.join(repr(v) if isinstance(v, float) else v for v in getattr(self, key))}"
            for key in _SHORT if getattr(self, key)
        )

    @property
    def _shape(self) -> tuple[int, ...]:
        return (len(self.protocols), len(self.max_block_sizes_mb), len(self.min_block_intervals_s),
                len(self.round_timeouts_s), max(len(self.round_timers), 1))

    def __len__(self) -> int:
        return math.prod(self._shape)

    def __getitem__(self, index: int) -> Configuration:
        if not -len(self) <= index < len(self):
            raise DtoptError(f"configuration index {index} outside a space of {len(self)}")
        return self.batch(np.array([index % len(self)]))[0]

    def __iter__(self) -> Iterator[Configuration]:
        return iter(self.batch())

    def configurations(self) -> tuple[Configuration, ...]:
        """Every configuration, in enumeration order."""
        return tuple(self.batch())

    def batch(self, indices: Sequence[int] | NDArray[np.integer] | None = None) -> ConfigurationBatch:
        """The configurations at ``indices`` (default: all, in order) as arrays."""
        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise DtoptError(
                f"configuration indices must be in [0, {len(self)}), got {idx.min()}..{idx.max()}"
            )
        p, b, i, t, r = (g[idx] for g in self._grid)
        return ConfigurationBatch(
            indices=_read_only(idx.copy()),
            protocols=self.protocols,
            protocol_index=_read_only(p),
            max_block_size_mb=_read_only(np.asarray(self.max_block_sizes_mb)[b]),
            min_block_interval_s=_read_only(np.asarray(self.min_block_intervals_s)[i]),
            round_timeout_s=_read_only(np.asarray(self.round_timeouts_s)[t]),
            round_timers=self.round_timers or (None,),
            round_timer_index=_read_only(r),
        )

    def __contains__(self, configuration: object) -> bool:
        try:
            self.index(configuration)  # type: ignore[arg-type]
        except DtoptError:
            return False
        return True

    def index(self, configuration: Configuration) -> int:
        """Position of ``configuration`` in the enumeration; DtoptError if it is not in the space."""
        try:
            parts = (
                self.protocols.index(configuration.protocol),
                self.max_block_sizes_mb.index(configuration.max_block_size_mb),
                self.min_block_intervals_s.index(configuration.min_block_interval_s),
                self.round_timeouts_s.index(configuration.round_timeout_s),
                (self.round_timers or (None,)).index(configuration.round_timer),
            )
        except (ValueError, AttributeError):
            raise DtoptError(f"configuration {configuration!r} is not in the space {self.spec()}") from None
        return int(np.ravel_multi_index(parts, self._shape))

    def validate_against(self, *, tx_size_mb: float, min_message_delay_s: float) -> ConfigurationSpace:
        """Check the space against the chain's message model; returns ``self`` when it passes.

        Parameters
        ----------
        tx_size_mb : size of one transaction (MB): every block size must hold at least one.
        min_message_delay_s : the shortest a message can take from send to validation (s),
            e.g. the vote validation time: every round timeout must be longer.
        """
        for name, value in (("tx_size_mb", tx_size_mb), ("min_message_delay_s", min_message_delay_s)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or value <= 0:
                raise DtoptError(f"{name} must be a finite number > 0, got {value!r}")
        small = min(self.max_block_sizes_mb)
        if small < tx_size_mb:
            raise DtoptError(
                f"configuration space: block size {small:g} MB holds no transaction of {tx_size_mb:g} MB"
            )
        short = min(self.round_timeouts_s)
        if short <= min_message_delay_s:
            raise DtoptError(
                f"configuration space: round timeout {short:g} s is not longer than one message delay"
                f" ({min_message_delay_s:g} s): no round could ever commit"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return {key: list(getattr(self, key)) for key in _SHORT}
