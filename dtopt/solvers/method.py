"""What a placement method is: the answer it hands back and the table it registers in.

A method module decorates its function with :func:`register`; :mod:`dtopt.solvers.registry`
loads the built-in ones and runs them behind :func:`~dtopt.solvers.registry.solve`. This
module imports no method, so methods and the entry point import it without a circle.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError
from dtopt.placement.result import Status

__all__ = ["Method", "MethodOutput", "register", "registered"]


@dataclass(frozen=True, eq=False)
class MethodOutput:
    """What a method hands back to :func:`~dtopt.solvers.registry.solve`.

    Attributes
    ----------
    servers : node indices of the best placement found, shape ``(k,)``, or ``None``.
    status : see :class:`~dtopt.placement.result.PlacementResult`.
    bound_ms : proven lower bound on the optimal mean latency (ms), exact methods only.
    reason : one line explaining a missing or unproven answer.
    """

    servers: NDArray[np.intp] | None
    status: Status
    bound_ms: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Method:
    """A registered placement method: its function, and whether it proves optimality."""

    name: str
    func: Callable[..., MethodOutput]
    exact: bool
    summary: str

    def defaults(self) -> dict[str, Any]:
        """The method's keyword options and their defaults."""
        params = list(inspect.signature(self.func).parameters.values())[1:]
        return {p.name: p.default for p in params}

    def resolve_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``options``; an unknown option name is an error."""
        defaults = self.defaults()
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            valid = ", ".join(defaults) or "none"
            raise DtoptError(
                f"unknown option(s) {', '.join(unknown)} for method {self.name!r}; valid: {valid}"
            )
        return {**defaults, **options}


_METHODS: dict[str, Method] = {}


def register(
    name: str, *, exact: bool, summary: str
) -> Callable[[Callable[..., MethodOutput]], Callable[..., MethodOutput]]:
    """Decorator adding ``func(problem, **options) -> MethodOutput`` as a method."""

    def add(func: Callable[..., MethodOutput]) -> Callable[..., MethodOutput]:
        _METHODS[name] = Method(name, func, exact, summary)
        return func

    return add


def registered() -> dict[str, Method]:
    """The methods registered so far, by name (the built-in ones register on import)."""
    return dict(_METHODS)
