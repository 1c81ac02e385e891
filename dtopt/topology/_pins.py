"""Shipped data files pinned by sha256 (a ``SHA256SUMS`` file in their folder)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from dtopt.errors import DtoptError

__all__ = ["DATA_DIR", "pinned"]

# The shipped data: topologies/ of a source checkout (an editable install finds it too).
DATA_DIR = Path(__file__).resolve().parents[2] / "topologies"


def pinned(folder: Path, filename: str, what: str) -> Path:
    """``folder / filename``, after checking it against its pin in ``folder / "SHA256SUMS"``.

    ``what`` names the data in the one-line errors (``"OR-Library file"``).
    """
    sums = _sums(folder / "SHA256SUMS", what)
    path = folder / filename
    if filename not in sums:
        raise DtoptError(f"{folder / 'SHA256SUMS'} pins no file named {filename}")
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:
        raise DtoptError(f"cannot read {what} {path}: {err}") from None
    if digest != sums[filename]:
        raise DtoptError(
            f"{path} differs from its pin (sha256 {digest[:12]}..., pinned {sums[filename][:12]}...)"
        )
    return path


@cache
def _sums(path: Path, what: str) -> dict[str, str]:
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise DtoptError(f"cannot read the {what} checksums {path}: {err}") from None
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}
