"""Checks of the chain's inputs, one line each (:class:`~dtopt.errors.DtoptError`): numbers,
node names, the propagation matrix and DPoS's fields, shared by the configuration, scenarios
and their files."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError

__all__ = ["check_dpos", "check_names", "check_number", "check_propagation"]


def check_number(where: str, name: str, value: Any, *, low: float = 0.0, strict: bool = False) -> float:
    """``value`` as a finite float ``>= low`` (``> low`` if ``strict``), else one-line DtoptError."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise DtoptError(f"{where}: {name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < low or (strict and value == low):
        relation = ">" if strict else ">="
        raise DtoptError(f"{where}: {name} must be a finite number {relation} {low:g}, got {value!r}")
    return value


def check_names(where: str, name: str, values: Any) -> tuple[str, ...]:
    """``values`` as a tuple of distinct non-empty strings, else one-line DtoptError."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise DtoptError(f"{where}: {name} must be a list of node names, got {values!r}")
    names = tuple(values)
    for value in names:
        if not isinstance(value, str) or not value:
            raise DtoptError(f"{where}: {name} must hold non-empty strings, got {value!r}")
    if len(set(names)) != len(names):
        raise DtoptError(f"{where}: {name} lists a node twice")
    return names


def check_propagation(where: str, prop: Any, n: int) -> NDArray[np.float64]:
    """``prop`` as a read-only ``(n, n)`` matrix of finite latencies >= 0 (s); empty: all zero."""
    if isinstance(prop, np.ndarray) and not prop.flags.writeable and prop.shape == (n, n):
        return prop  # already checked (a replace() keeps the same array)
    try:
        prop = np.array(prop, dtype=float)
    except (TypeError, ValueError) as err:
        raise DtoptError(f"{where}: propagation_s is not a numeric matrix ({err})") from None
    if prop.size == 0:
        prop = np.zeros((n, n))
    if prop.shape != (n, n):
        raise DtoptError(f"{where}: propagation_s must have shape ({n}, {n}), got {prop.shape}")
    if not np.all(np.isfinite(prop)) or np.any(prop < 0):
        raise DtoptError(f"{where}: propagation_s must be finite and >= 0")
    prop.setflags(write=False)
    return prop


def check_dpos(
    where: str, stake: Any, delegates: Any, epoch_slots: Any, slot_s: Any, n_validators: int
) -> dict[str, Any]:
    """DPoS's fields of a configuration, checked and normalised: ``stake`` (one value >= 0 per
    validator, not all zero, or empty), ``delegates`` (1..n_validators, or None),
    ``epoch_slots`` (>= 1) and ``slot_s`` (> 0)."""
    m = n_validators
    if isinstance(stake, str) or not isinstance(stake, Sequence):
        raise DtoptError(f"{where}: stake must be a list (one per validator), got {stake!r}")
    stake = tuple(check_number(where, "stake", s) for s in stake)
    if stake and len(stake) != m:
        raise DtoptError(f"{where}: stake has {len(stake)} values for {m} validators")
    if stake and sum(stake) <= 0:
        raise DtoptError(f"{where}: stake must not be all zero")
    out: dict[str, Any] = {"stake": stake}
    for name, value, high in (("delegates", delegates, m), ("epoch_slots", epoch_slots, None)):
        if value is None and name == "delegates":
            continue
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1 or (
                high is not None and value > high):
            limit = f" and <= {high} (the validators)" if high is not None else ""
            raise DtoptError(f"{where}: {name} must be an integer >= 1{limit}, got {value!r}")
        out[name] = int(value)
    out["slot_s"] = check_number(where, "slot_s", slot_s, strict=True)
    return out
