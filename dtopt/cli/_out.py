"""Where the commands write their files: one output directory, checked before any work."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dtopt._validate import check_output_dir as output_dir

__all__ = ["output_dir", "report_written", "write_json"]


def write_json(path: Path, payload: Mapping[str, Any]) -> Path:
    """``payload`` as indented strict JSON (a NaN or infinity is a bug, and raises)."""
    path.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    return path


def report_written(out: Path, paths: Iterable[Path]) -> None:
    """Say where the files went (stderr, so stdout keeps the command's own output)."""
    print(f"wrote {', '.join(p.name for p in paths)} to {out}/", file=sys.stderr)
