"""The one exception type dtopt raises for bad input."""

from __future__ import annotations

__all__ = ["DtoptError"]


class DtoptError(ValueError):
    """Invalid input or an impossible request, explained in one line.

    A subclass of :class:`ValueError`, so callers that already catch ``ValueError``
    keep working. The CLI prints the message and exits with status 2.
    """
