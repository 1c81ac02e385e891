"""What every benchmark shares: the output layout (:mod:`.output`), the sweep back end
(:mod:`.sweep`, serial or on dask, and :mod:`.cluster` for a cluster of its own), and
:func:`lazy_names` for a study package whose parts also run on their own.
"""

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for ``package`` that loads each name of ``homes``
    (name -> the submodule defining it) on first use.

    A package whose ``__init__`` imported its parts would have imported a part before
    ``python -m package.part`` runs it (a second copy, and Python warns).
    """

    def load(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{homes[name]}"), name)

    return load
