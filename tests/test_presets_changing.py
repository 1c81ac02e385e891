"""The presets whose conditions change: load-swing, bandwidth-drop, churn, mixed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtopt.consensus import SCENARIOS, fault_tolerance, load_scenario, run_chain
from dtopt.consensus.changing import CHANGING_KINDS, changing_regimes
from dtopt.consensus.presets import preset_scenario

DURATION_S = 3000.0


def _spans(scenario, duration_s=DURATION_S):
    """``(regime, length_s)`` over ``[0, duration_s)``."""
    ends = [r.start_s for r in scenario.regimes[1:]] + [duration_s]
    return [(r, end - r.start_s) for r, end in zip(scenario.regimes, ends, strict=True)]


def _runs(values):
    """Lengths of the maximal runs of equal consecutive ``(value, length_s)`` items."""
    return [(key, sum(length for _, length in group))
            for key, group in itertools.groupby(values, key=lambda item: item[0])]


@pytest.mark.parametrize("n", [10, 31, 64])
def test_every_kind_is_named_at_every_size_and_seeded(n: int) -> None:
    for kind in CHANGING_KINDS:
        name = kind if n == 10 else f"{kind}-{n}"
        assert name in SCENARIOS
        a, b, other = (load_scenario(name, 800.0, seed=s) for s in (3, 3, 4))
        assert a.producers == a.nodes == tuple(f"bp{i}" for i in range(n))
        assert a.regimes == b.regimes and np.array_equal(a.propagation_s, b.propagation_s)
        assert a.regimes != other.regimes
        assert a.faulty == () and all(r.jitter_s == 0.01 for r in a.regimes)


def test_load_swings_between_5_and_150_in_regimes_of_50_to_200_s() -> None:
    scenario = load_scenario("load-swing", DURATION_S, seed=1)
    loads = _runs([(r.tx_rate_per_s, length) for r, length in _spans(scenario)])
    rates = [rate for rate, _ in loads]
    assert all(5.0 <= rate <= 150.0 for rate in rates)
    assert min(rates) < 15.0 and max(rates) > 100.0  # it really swings
    assert all(50.0 <= length <= 200.0 for _, length in loads[:-1])  # the last is cut at the end
    assert all(not r.offline for r in scenario.regimes)
    assert all(1.0 <= b <= 2.0 for r in scenario.regimes for b in r.bandwidth_mbps)


def test_bandwidth_drops_from_1_2_to_0_1_0_3_for_periods() -> None:
    scenario = load_scenario("bandwidth-drop", DURATION_S, seed=1)
    dropped = _runs([(max(r.bandwidth_mbps) <= 0.3, length) for r, length in _spans(scenario)])
    assert [d for d, _ in dropped][:4] == [False, True, False, True]  # they alternate
    for is_drop, length in dropped[:-1]:
        assert (30.0 <= length <= 120.0) if is_drop else (100.0 <= length <= 300.0)
    for regime in scenario.regimes:
        low, high = (0.1, 0.3) if max(regime.bandwidth_mbps) <= 0.3 else (1.0, 2.0)
        assert all(low <= b <= high for b in regime.bandwidth_mbps)
    assert {r.tx_rate_per_s for r in scenario.regimes} == {25.0}
    assert all(not r.offline for r in scenario.regimes)


@pytest.mark.parametrize("n", [10, 31, 64])
def test_churn_takes_up_to_f_of_any_validators_offline_at_random_times(n: int) -> None:
    scenario = preset_scenario("churn", DURATION_S, seed=2, validators=n)
    f = fault_tolerance(n)
    away = [len(r.offline) for r in scenario.regimes]
    assert f // 2 < max(away) <= f and min(away) == 0
    left = {name for r in scenario.regimes for name in r.offline}
    assert len(left) > f  # not a fixed faulty set: anyone may leave, the proposer included
    assert any(r.start_s % 25.0 > 1e-6 for r in scenario.regimes if r.offline)  # not on a grid
    for before, after in itertools.pairwise(scenario.regimes):  # one leaves or returns at a time
        assert len(set(before.offline) ^ set(after.offline)) <= 1
    assert {r.tx_rate_per_s for r in scenario.regimes} == {50.0}


def test_mixed_is_the_three_tracks_at_once() -> None:
    mixed = load_scenario("mixed", DURATION_S, seed=5)
    for kind, field in (("load-swing", "tx_rate_per_s"), ("bandwidth-drop", "bandwidth_mbps"),
                        ("churn", "offline")):
        alone = load_scenario(kind, DURATION_S, seed=5)
        for t_s in np.arange(0.0, DURATION_S, 7.0):  # the same track, sampled anywhere
            if field != "tx_rate_per_s" or kind == "load-swing":
                assert getattr(mixed.regime_at(t_s), field) == getattr(alone.regime_at(t_s), field)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(list(CHANGING_KINDS)), seed=st.integers(0, 2**32),
       duration_s=st.floats(1.0, 5000.0), n=st.integers(4, 40))
def test_regimes_are_valid_for_any_seed_length_and_size(kind, seed, duration_s, n) -> None:
    nodes = tuple(f"v{i}" for i in range(n))
    regimes = changing_regimes(kind, duration_s, seed, nodes)
    assert regimes[0].start_s == 0.0 and all(r.start_s < duration_s for r in regimes)
    assert all(b.start_s > a.start_s for a, b in itertools.pairwise(regimes))
    assert all(len(r.offline) <= fault_tolerance(n) and len(r.bandwidth_mbps) == n for r in regimes)
    assert regimes == changing_regimes(kind, duration_s, seed, nodes)


@pytest.mark.parametrize("kind", list(CHANGING_KINDS))
def test_the_chain_runs_every_kind_and_stays_safe(kind: str) -> None:
    scenario = load_scenario(kind, 300.0, seed=1)
    run = run_chain(scenario, "IBFT", 300.0, seed=1)
    assert run.chain.safety_violations == 0 and run.metrics.n_tx_committed > 0
    # the arrivals follow the regimes' rates
    expected = sum(r.tx_rate_per_s * length for r, length in _spans(scenario, 300.0))
    assert abs(len(run.view.tx_ids) - expected) < 5 * np.sqrt(expected)
