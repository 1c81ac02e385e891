"""Validation of the methods' options, named ``"<method> option <name>"`` in messages.

The rules live in :mod:`dtopt._validate`; this module only names the option.
"""

from __future__ import annotations

from collections.abc import Callable

from dtopt import _validate

__all__ = ["check_bool", "check_choice", "check_int", "check_real", "check_seed"]


def check_seed(method: str, seed: object) -> int:
    """A seed for :func:`numpy.random.default_rng`: a non-negative integer."""
    return _validate.check_seed(f"{method} option seed", seed)


def check_int(method: str, name: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    """An integer in ``minimum..maximum`` (bools are refused)."""
    return _validate.check_int(f"{method} option {name}", value, minimum=minimum, maximum=maximum)


def check_real(method: str, name: str, value: object, valid: Callable[[float], bool], expected: str) -> float:
    """A finite real number for which ``valid`` holds; ``expected`` words the rule."""
    return _validate.check_real(f"{method} option {name}", value, valid, expected)


def check_bool(method: str, name: str, value: object) -> bool:
    """A bool."""
    return _validate.check_bool(f"{method} option {name}", value)


def check_choice(method: str, name: str, value: object, choices: tuple[str, ...]) -> str:
    """One of ``choices``."""
    return _validate.check_choice(f"{method} option {name}", value, choices)
