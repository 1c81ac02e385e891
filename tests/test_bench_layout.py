"""The house: every benchmark runs by its name, and no module passes 400 lines."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The names users run (`python -m benchmarks.<name>`); a study's package or a module running one.
RUN_NAMES = (
    "placement", "placement_variants", "orlib", "zoo_files", "heuristics", "consensus",
    "oracle_fidelity", "config_search", "dpos", "pipeline", "tsplib", "chain_speed", "oracle_speed",
    "decision_speed", "exact_speed", "capacitated_speed",
)
MAX_LINES = 400


@pytest.mark.parametrize("name", RUN_NAMES)
def test_each_run_name_is_runnable(name: str) -> None:
    spec = importlib.util.find_spec(f"benchmarks.{name}")
    assert spec is not None and spec.origin is not None
    if spec.submodule_search_locations is not None:  # a package: python -m runs its __main__
        assert importlib.util.find_spec(f"benchmarks.{name}.__main__") is not None
    else:
        assert 'if __name__ == "__main__":' in Path(spec.origin).read_text()


@pytest.mark.parametrize("name", ["placement", "chain_speed"])
def test_python_m_runs(name: str) -> None:
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and f"python -m benchmarks.{name}" in done.stdout, done.stderr
    assert done.stderr == ""


def test_no_module_passes_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for package in ("dtopt", "benchmarks")
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these along a seam they already have: {long}"
