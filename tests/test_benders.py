"""The Benders master's cuts: valid for every placement, exact at the placement they are cut at."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dtopt.solvers.milp._benders as benders
from dtopt import load_orlib, solve
from dtopt.solvers.milp._benders import BendersCuts
from tests.test_exact import random_problem
from tests.test_exact_milp import _agree


@st.composite
def instances(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A latency matrix with some inadmissible pairs, the allowed servers, a placement."""
    n = draw(st.integers(2, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    latency = rng.integers(0, 6, size=(n, n)).astype(float)  # ties on purpose
    np.fill_diagonal(latency, 0.0)
    latency[rng.random((n, n)) < draw(st.sampled_from([0.0, 0.3]))] = np.inf
    np.fill_diagonal(latency, 0.0)
    allowed = rng.random(n) < 0.7
    allowed[rng.integers(n)] = True
    reach = np.isfinite(latency[:, allowed]).any(axis=1)
    latency = latency[reach][:, reach]
    allowed = allowed[reach]
    k = draw(st.integers(1, int(allowed.sum())))
    servers = rng.choice(np.flatnonzero(allowed), size=k, replace=False)
    return latency, allowed, servers


def _cut_values(cuts: BendersCuts, rhs: np.ndarray, rows, y: np.ndarray) -> np.ndarray:
    """Each cut's lower bound on its node's theta at ``y``: rhs - (y part of the row) @ y."""
    n = cuts.n
    return rhs - rows[:, :n] @ y


@given(instances())
@settings(max_examples=200, deadline=None)
def test_every_cut_holds_at_every_placement_and_is_exact_at_its_own(case) -> None:
    latency, allowed, servers = case
    n = latency.shape[0]
    cuts = BendersCuts(latency, allowed)
    y = np.zeros(n)
    y[servers] = 1.0
    paid = np.where(np.isfinite(latency[:, servers]), latency[:, servers], np.inf).min(axis=1)
    served = np.isfinite(paid)
    # Cut at the placement itself (theta at the cheapest latency: every node short of it).
    rhs, rows = cuts.violated(y, cuts.cheapest)
    nodes = rows[:, n:].nonzero()[1]
    bounds = _cut_values(cuts, rhs, rows, y)
    # Exact: a served node's cut at its own placement is its latency.
    assert np.allclose(bounds[served[nodes]], paid[nodes][served[nodes]])
    # No cut is left for a node already at its latency.
    assert set(nodes) >= set(np.flatnonzero(served & (paid > cuts.cheapest)))
    # Valid: every cut, at every level, bounds every other placement's latency from below.
    rng = np.random.default_rng(n)
    for _ in range(5):
        other = np.zeros(n)
        other[rng.choice(np.flatnonzero(allowed), size=len(servers), replace=False)] = 1.0
        other_paid = np.where(np.isfinite(latency[:, other > 0]), latency[:, other > 0], np.inf).min(axis=1)
        level = cuts.whole(y)
        for _ in range(3):
            all_rows = cuts.rows(np.arange(n), level)
            assert np.all(_cut_values(cuts, level, all_rows, other) <= other_paid + 1e-9)
            level = cuts.next_levels(level)


@given(instances(), st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_separation_from_a_narrow_prefix_finds_the_cuts_of_whole_rows(case, seed: int) -> None:
    # Separation reads the first `width` servers of each node's order and widens them when
    # a node's whole server lies further on: from width 1 it must find what whole rows give.
    latency, allowed, servers = case
    n = latency.shape[0]
    y = np.where(allowed, np.random.default_rng(seed).random(n), 0.0)
    y *= len(servers) / y.sum()  # fractional, adding up to k
    whole, narrow = BendersCuts(latency, allowed), BendersCuts(latency, allowed)
    assert whole.width == whole.order.shape[1]  # n <= 12: the first width is every server
    narrow.width = 1
    theta = whole.cheapest
    (rhs, rows), (narrow_rhs, narrow_rows) = whole.violated(y, theta), narrow.violated(y, theta)
    assert np.array_equal(rhs, narrow_rhs) and np.array_equal(rows.toarray(), narrow_rows.toarray())
    level = whole.whole(y)
    assert np.array_equal(level, narrow.whole(y))
    nodes = np.arange(n)
    for _ in range(3):
        assert np.array_equal(whole.rows(nodes, level).toarray(), narrow.rows(nodes, level).toarray())
        assert np.array_equal(whole.next_levels(level), narrow.next_levels(level))
        level = whole.next_levels(level)


def test_the_fractional_cut_is_the_radius_bound_of_its_node() -> None:
    # One node, servers at 1, 2, 4 with y = 0.5 each: it pays 1 for half, 2 for the other
    # half, so its radius LP cost is 1.5; the cut at D = 2 (where y adds up to 1) says
    # theta >= 2 - (2 - 1) * 0.5 = 1.5.
    latency = np.array([[1.0, 2.0, 4.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    cuts = BendersCuts(latency, np.ones(3, dtype=bool))
    rhs, rows = cuts.violated(np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.0, 0.0]))
    assert rows.shape[0] == 1 and rhs[0] == 2.0
    assert _cut_values(cuts, rhs, rows, np.array([0.5, 0.5, 0.0]))[0] == pytest.approx(1.5)


def test_undercut_solutions_restart_the_search_and_the_answer_stays_exact(monkeypatch) -> None:
    # Without the deeper cuts, branch and bound on pmed16 meets integer solutions that the
    # cuts found so far undercut: each must restart the search, never end it.
    monkeypatch.setattr(benders, "_DEEPER", 0)
    instance = load_orlib("pmed16")
    notes: list[str] = []
    finish = benders.finish_mip

    def recorded(*args, **kwargs):
        notes.append(kwargs["step"])
        return finish(*args, **kwargs)

    monkeypatch.setattr(benders, "finish_mip", recorded)
    result = solve(instance.problem, "milp", formulation="benders", time_limit_s=300)
    assert result.status == "optimal"
    assert result.avg_latency_ms * instance.problem.n == pytest.approx(instance.optimum, abs=1e-6)
    restarts = int(notes[-1].split("(")[1].split()[0])
    assert restarts >= 1


@pytest.mark.parametrize("seed", range(40))
def test_the_benders_master_agrees_with_eopa_without_deeper_cuts(monkeypatch, seed: int) -> None:
    monkeypatch.setattr(benders, "_DEEPER", 0)
    _agree(random_problem(seed), "benders")
