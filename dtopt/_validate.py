"""Validation of numeric and categorical parameters: one clear :class:`DtoptError` line each.

Every function takes the parameter's name as the reader knows it (``"k"``,
``"isapa option T0"``, ``"optimum_ms"``) and returns the value converted to a
plain Python type.
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from dtopt.errors import DtoptError

__all__ = [
    "MAX_BATCH_ELEMENTS",
    "check_bool",
    "check_choice",
    "check_int",
    "check_output_dir",
    "check_real",
    "check_seed",
]

# Largest batch of numbers any method may hold at once (8 bytes each: 1 GiB).
MAX_BATCH_ELEMENTS = 1 << 27


def check_int(name: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    """An integer in ``minimum..maximum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise DtoptError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise DtoptError(f"{name} must be an integer <= {maximum:,}, got {value!r}")
    return int(value)


def check_seed(name: str, value: object) -> int:
    """A seed for :func:`numpy.random.default_rng`: a non-negative integer."""
    return check_int(name, value, minimum=0)


def check_real(name: str, value: object, valid: Callable[[float], bool], expected: str) -> float:
    """A finite real number for which ``valid`` holds; ``expected`` words the rule."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or not valid(float(value))
    ):
        raise DtoptError(f"{name} must be {expected}, got {value!r}")
    return float(value)


def check_bool(name: str, value: object) -> bool:
    """A bool."""
    if not isinstance(value, bool):
        raise DtoptError(f"{name} must be true or false, got {value!r}")
    return value


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """One of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise DtoptError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_output_dir(path: str | os.PathLike[str], error: type[DtoptError] = DtoptError) -> Path:
    """Create (if needed) and return the output directory ``path``, once it is known to be writable.

    Commands call it before their work, so a directory that cannot be written is refused
    (``error``, one line) before any work, not after it.
    """
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        # Permission bits do not tell the whole story (root, read-only mounts): try it.
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise error(f"cannot write to output directory {out}: {err.strerror or err}") from None
    return out
