"""Time the code of another git revision side by side with the working tree.

``--against REV`` in the speed benchmarks exports ``REV`` (``git archive``) to a
temporary directory and runs the same timing snippet alternately in a fresh
interpreter on each tree (``import dtopt`` resolves to that tree), so both see
the same machine load. Each snippet prints one JSON object on its last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from dtopt.errors import DtoptError

__all__ = ["CURRENT", "export_revision", "run_snippet"]

#: The working tree this benchmark runs from.
CURRENT = Path(__file__).resolve().parents[2]


def export_revision(rev: str, into: Path) -> Path:
    """Export git revision ``rev`` of this repository to ``into/rev``; returns that directory."""
    target = into / "rev"
    target.mkdir(parents=True)
    with tempfile.TemporaryFile() as archive:
        done = subprocess.run(["git", "-C", str(CURRENT), "archive", "--format=tar", rev], stdout=archive,
                              stderr=subprocess.PIPE, text=False, check=False)
        if done.returncode != 0:
            reason = done.stderr.decode().strip().splitlines()[-1]
            raise DtoptError(f"cannot export revision {rev!r}: {reason}")
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(target, filter="data")
    return target


def run_snippet(tree: Path, code: str) -> dict:
    """Run ``code`` in a fresh interpreter that imports ``dtopt`` from ``tree``; its last JSON line."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise DtoptError(f"timing run in {tree} failed: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
