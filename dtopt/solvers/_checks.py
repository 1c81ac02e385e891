"""Validation of the methods' options: one clear :class:`DtoptError` line each."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

from dtopt.errors import DtoptError

__all__ = ["check_bool", "check_choice", "check_int", "check_real", "check_seed"]


def check_seed(method: str, seed: object) -> int:
    """A seed for :func:`numpy.random.default_rng`: a non-negative integer."""
    return check_int(method, "seed", seed, minimum=0)


def check_int(method: str, name: str, value: object, *, minimum: int) -> int:
    """An integer >= ``minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise DtoptError(f"{method} option {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_real(method: str, name: str, value: object, valid: Callable[[float], bool], expected: str) -> float:
    """A finite real number for which ``valid`` holds; ``expected`` words the rule."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or not valid(float(value))
    ):
        raise DtoptError(f"{method} option {name} must be {expected}, got {value!r}")
    return float(value)


def check_bool(method: str, name: str, value: object) -> bool:
    """A bool."""
    if not isinstance(value, bool):
        raise DtoptError(f"{method} option {name} must be true or false, got {value!r}")
    return value


def check_choice(method: str, name: str, value: object, choices: tuple[str, ...]) -> str:
    """One of ``choices``."""
    if value not in choices:
        raise DtoptError(f"{method} option {name} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)
