"""Bounded memory in the placement solvers: EOPA for every k, and every option that sizes an array."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dtopt import DtoptError, PlacementProblem, solve
from dtopt._validate import MAX_BATCH_ELEMENTS
from dtopt.solvers import eopa as eopa_module
from tests.conftest import random_topology

ROOT = Path(__file__).resolve().parents[1]


def _brute_total(rows: np.ndarray, k: int) -> float:
    n = rows.shape[0]
    return min(float(rows[list(s)].min(axis=0).sum()) for s in itertools.combinations(range(n), k))


@pytest.mark.parametrize("seed", range(6))
def test_both_enumerations_find_the_optimum_for_every_k(seed: int) -> None:
    problem = PlacementProblem(random_topology(seed, n=9), 1, eps_max=(None, 0.03)[seed % 2])
    rows = np.ascontiguousarray(problem.cost_ms.T)
    for k in range(1, problem.n + 1):
        expected = _brute_total(rows, k)
        for batch in (1, 50, 1 << 20):  # tiny budgets force the split on the largest servers
            for search in (eopa_module._by_levels, eopa_module._by_complement):
                total, servers = search(rows, k, batch)
                if np.isfinite(expected):
                    assert len(set(servers)) == k, (search.__name__, k, batch)
                    assert total == pytest.approx(expected, rel=1e-12), (search.__name__, k, batch)
                    assert float(rows[list(servers)].min(axis=0).sum()) == pytest.approx(total, rel=1e-12)
                else:
                    assert not np.isfinite(total)


@pytest.mark.parametrize(("n", "k"), [(24, 4), (20, 8), (30, 27), (40, 38)])
def test_the_largest_stored_level_stays_within_the_budget(n: int, k: int, monkeypatch) -> None:
    # Every level _levels builds is recorded: none may exceed batch_elements numbers.
    budget = 20_000
    seen: list[int] = []
    original = np.empty

    def recording_empty(shape, *args, **kwargs):
        seen.append(math.prod(shape) if isinstance(shape, tuple) else int(shape))
        return original(shape, *args, **kwargs)

    monkeypatch.setattr(eopa_module.np, "empty", recording_empty)
    problem = PlacementProblem(random_topology(3, n=n), k, eps_max=None)
    result = solve(problem, "eopa", batch_elements=budget)
    assert result.status == "optimal"
    assert max(seen, default=0) <= budget


def test_eopa_with_k_near_n_runs_under_a_memory_cap() -> None:
    # C(40, 38) = 780 placements; building every level up to 37 servers needed tens of GB.
    script = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        import dtopt
        from tests.conftest import random_topology
        for n, k in ((40, 38), (40, 35), (60, 59)):
            problem = dtopt.PlacementProblem(random_topology(5, n=n), k, eps_max=None)
            print(dtopt.solve(problem, "eopa").status)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["optimal"] * 3


@pytest.mark.parametrize(
    ("method", "option"),
    [("eopa", "batch_elements"), ("rands", "batch_elements")],
)
def test_batch_budgets_above_the_limit_are_refused(agis, method: str, option: str) -> None:
    with pytest.raises(DtoptError, match=f"{option} must be an integer <= {MAX_BATCH_ELEMENTS:,}"):
        solve(PlacementProblem(agis, 3), method, **{option: MAX_BATCH_ELEMENTS + 1})
