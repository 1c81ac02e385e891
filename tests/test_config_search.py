"""The configuration decision: rule, exhaustive and budgeted search, Pareto set."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtopt.errors import DtoptError
from dtopt.twin.config_search import (
    ConfigurationBatch,
    ConfigurationDecider,
    ConfigurationSpace,
    SyntheticLandscape,
    choose,
    pareto_mask,
)

SMALL = ConfigurationSpace.parse("protocol=IBFT,BigFoot;block=0.5,1,2,4;interval=0.5;timeout=5,10")


def _fixed(latency_s, throughput_tps, noise: float = 0.0, seed: int = 0):
    """An evaluate() over given true means (indexed by enumeration), with optional Gaussian noise."""
    rng = np.random.default_rng(seed)
    lat, thr = np.asarray(latency_s, float), np.asarray(throughput_tps, float)

    def evaluate(batch: ConfigurationBatch, replicas: int):
        shape = (len(batch), replicas)
        z = noise * rng.standard_normal(shape)
        return lat[batch.indices, None] * (1 + z), thr[batch.indices, None] * (1 - z)

    return evaluate


def test_choose_the_rule() -> None:
    lat, thr = [3.0, 1.0, 2.0, 2.0], [50.0, 10.0, 60.0, 70.0]
    assert choose(lat, thr, np.array(thr) >= 40) == 3  # fastest meeting the rate; tie -> more throughput
    assert choose(lat, thr, np.array(thr) >= 100) == 3  # none meets it: the highest throughput
    assert choose([1.0, 1.0], [5.0, 5.0], [True, True]) == 0  # full tie: lower index


def test_exhaustive_is_the_constrained_argmin() -> None:
    rng = np.random.default_rng(1)
    lat, thr = rng.uniform(1, 10, len(SMALL)), rng.uniform(20, 80, len(SMALL))
    decision = ConfigurationDecider(replicas=8).decide(SMALL, _fixed(lat, thr), 50.0)
    feasible = np.flatnonzero(thr >= 0.99 * 50.0)
    assert SMALL.index(decision.configuration) == feasible[np.argmin(lat[feasible])]
    assert decision.method == "exhaustive" and decision.calls == 1
    assert decision.replicas_used == decision.exhaustive_replicas == 8 * len(SMALL)
    assert decision.chosen.meets_rate and decision.required_throughput_tps == pytest.approx(49.5)


@pytest.mark.parametrize("method", ["exhaustive", "halving"])
def test_throughput_constraint_is_honoured(method: str) -> None:
    lat = np.linspace(1.0, 9.0, len(SMALL))  # the fastest ones cannot carry the rate
    thr = np.where(np.arange(len(SMALL)) < 5, 30.0, 60.0)
    decider = ConfigurationDecider(replicas=64)
    decision = decider.decide(SMALL, _fixed(lat, thr, noise=0.05), 50.0, method=method)
    assert SMALL.index(decision.configuration) == 5
    assert decision.chosen.mean_throughput_tps >= 50.0
    # Nothing carries 100 tx/s: the highest throughput wins, the fastest of those.
    thr_none = np.where(np.arange(len(SMALL)) == 12, 90.0, 40.0)
    decision = decider.decide(SMALL, _fixed(lat, thr_none, noise=0.02), 100.0, method=method)
    assert SMALL.index(decision.configuration) == 12 and not decision.chosen.meets_rate


@pytest.mark.parametrize("seed", range(12))
def test_halving_returns_the_exhaustive_optimum_on_a_small_space(seed: int) -> None:
    landscape = SyntheticLandscape.random(seed)
    decider = ConfigurationDecider()
    exhaustive = decider.decide(SMALL, landscape.sampler(seed), landscape.arrival_rate_tps)
    halving = decider.decide(SMALL, landscape.sampler(seed + 1000), landscape.arrival_rate_tps, "halving")
    assert exhaustive.method == "exhaustive" and halving.method == "halving"
    assert halving.budget_fraction <= 0.25
    lat, _ = landscape.true_means(SMALL.batch())
    picked, reference = SMALL.index(halving.configuration), SMALL.index(exhaustive.configuration)
    # The same configuration, or one that ties with it (a timeout that never fires: equal means).
    assert picked == reference or lat[picked] == pytest.approx(lat[reference], rel=1e-3)


SEEDS_128 = list(range(40))


def test_halving_within_one_percent_on_a_quarter_budget_128_configs() -> None:
    space = ConfigurationSpace()
    decider = ConfigurationDecider()
    misses = []
    for seed in SEEDS_128:
        landscape = SyntheticLandscape.random(seed)
        exhaustive = decider.decide(space, landscape.sampler(seed), landscape.arrival_rate_tps, "exhaustive")
        halving = decider.decide(space, landscape.sampler(seed + 10**6), landscape.arrival_rate_tps)
        assert halving.method == "halving" and halving.budget_fraction <= 0.25
        if not landscape.as_good(space, halving.configuration, exhaustive.configuration):
            misses.append(seed)
    assert misses == []


def test_decision_reports_a_pareto_set_and_serialises() -> None:
    landscape = SyntheticLandscape.random(3)
    decision = ConfigurationDecider().decide(ConfigurationSpace(), landscape.sampler(3), 40.0)
    lat = np.array([e.mean_latency_s for e in decision.estimates])
    thr = np.array([e.mean_throughput_tps for e in decision.estimates])
    front = {e.configuration for e in decision.pareto}
    mask = pareto_mask(lat, thr)
    assert front == {e.configuration for e, m in zip(decision.estimates, mask, strict=True) if m}
    assert [e.mean_latency_s for e in decision.pareto] == sorted(e.mean_latency_s for e in decision.pareto)
    assert sum(e.replicas for e in decision.estimates) == decision.replicas_used
    payload = json.loads(decision.to_json())
    assert payload["configuration"] == decision.configuration.to_dict()
    assert payload["replicas_used"] <= payload["exhaustive_replicas"] / 4
    assert len(payload["pareto"]) == len(decision.pareto) >= 1
    assert "NaN" not in decision.to_json() and "Infinity" not in decision.to_json()


def test_same_evaluator_seed_same_decision() -> None:
    landscape = SyntheticLandscape.random(5)
    decide = ConfigurationDecider().decide
    a = decide(ConfigurationSpace(), landscape.sampler(9), landscape.arrival_rate_tps)
    b = decide(ConfigurationSpace(), landscape.sampler(9), landscape.arrival_rate_tps)
    assert a == b


def test_bad_evaluate_output_and_parameters() -> None:
    decider = ConfigurationDecider(replicas=4)
    lat, thr = np.ones(len(SMALL)), np.ones(len(SMALL))
    with pytest.raises(DtoptError, match="shape"):
        decider.decide(SMALL, lambda b, r: (np.ones((len(b), r + 1)), np.ones((len(b), r))), 1.0)
    with pytest.raises(DtoptError, match="non-finite"):
        decider.decide(SMALL, _fixed(lat * np.nan, thr), 1.0)
    with pytest.raises(DtoptError, match="arrival_rate_tps"):
        decider.decide(SMALL, _fixed(lat, thr), -1.0)
    with pytest.raises(DtoptError, match="method"):
        decider.decide(SMALL, _fixed(lat, thr), 1.0, method="random")
    with pytest.raises(DtoptError, match="budget too small"):
        ConfigurationDecider(replicas=4, budget_fraction=0.1).decide(SMALL, _fixed(lat, thr), 1.0, "halving")
    for bad in ({"replicas": 1}, {"budget_fraction": 0.0}, {"eta": 1}, {"throughput_slack": 1.0},
                {"z": float("nan")}, {"exhaustive_max": 0}, {"replicas": 2.5}):
        with pytest.raises(DtoptError):
            ConfigurationDecider(**bad)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(1, 8), min_size=36, max_size=36),
    st.lists(st.integers(0, 8), min_size=36, max_size=36),
    st.integers(0, 9),
    st.sampled_from([2, 3, 4]),
)
def test_without_noise_every_method_returns_the_rule_s_choice(lat, thr, rate, eta) -> None:
    """Noise-free samples (ties are common): halving and exhaustive both return choose()'s answer."""
    space = ConfigurationSpace.parse("protocol=IBFT,BigFoot;block=1,2,4;interval=0.5,1;timeout=5,10,20")
    lat_s, thr_tps = np.array(lat, float), np.array(thr, float) * 10
    truth = choose(lat_s, thr_tps, thr_tps >= 0.99 * rate * 10)
    decider = ConfigurationDecider(replicas=64, eta=eta)
    for method in ("exhaustive", "halving"):
        decision = decider.decide(space, _fixed(lat_s, thr_tps), rate * 10.0, method)
        assert space.index(decision.configuration) == truth
        share = 1.0 if method == "exhaustive" else 0.25
        assert decision.replicas_used <= share * decision.exhaustive_replicas
        assert decision.chosen in decision.estimates


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=25))
def test_pareto_mask_against_brute_force(points) -> None:
    lat, thr = (np.array(v, dtype=float) for v in zip(*points, strict=True))
    mask = pareto_mask(lat, thr)
    for i in range(len(points)):
        dominated = any(
            lat[j] <= lat[i] and thr[j] >= thr[i] and (lat[j] < lat[i] or thr[j] > thr[i])
            for j in range(len(points))
        )
        assert mask[i] == (not dominated)
    assert mask.any()


# ----------------------------------------------------------------- stability: the incumbent


def _paired(latency_s, throughput_tps, common: float, own: float, seed: int = 0):
    """An evaluate() whose replicas share a common shock (scale ``common``, as common random
    numbers give) plus independent noise per configuration (scale ``own``)."""
    rng = np.random.default_rng(seed)
    lat, thr = np.asarray(latency_s, float), np.asarray(throughput_tps, float)

    def evaluate(batch: ConfigurationBatch, replicas: int):
        shock = common * rng.random(replicas)[None, :]  # >= 0: samples stay positive
        noise = own * rng.standard_normal((len(batch), replicas))
        return lat[batch.indices, None] + shock + noise, np.repeat(thr[batch.indices, None], replicas, 1)

    return evaluate


@pytest.mark.parametrize("method", ["exhaustive", "halving"])
def test_a_change_must_beat_its_switching_cost(method: str) -> None:
    lat, thr = np.full(len(SMALL), 3.0), np.full(len(SMALL), 60.0)
    incumbent, better = SMALL[9], 4
    lat[9], lat[better] = 2.0, 1.8  # 0.2 s faster than the configuration in force
    for cost, expected in ((0.0, SMALL[better]), (0.15, SMALL[better]), (0.25, incumbent)):
        decision = ConfigurationDecider(replicas=32, switch_cost_s=cost).decide(
            SMALL, _fixed(lat, thr), 50.0, method, incumbent=incumbent)
        assert decision.configuration == expected, cost
        assert decision.incumbent is not None and decision.incumbent.configuration == incumbent
    # the margin is relative to the incumbent's latency: 5% of 2 s = 0.1 s < 0.2 s, 15% = 0.3 s > 0.2 s
    for margin, expected in ((0.05, SMALL[better]), (0.15, incumbent)):
        decision = ConfigurationDecider(replicas=32, switch_margin=margin).decide(
            SMALL, _fixed(lat, thr), 50.0, method, incumbent=incumbent)
        assert decision.configuration == expected, margin


def test_the_replicas_spread_decides_whether_a_gain_is_real() -> None:
    lat, thr = np.full(len(SMALL), 12.0), np.full(len(SMALL), 60.0)
    lat[9], lat[4] = 10.0, 9.9
    decider = ConfigurationDecider(replicas=64)
    # a large common shock but little noise of their own: the paired gain of 0.1 s is sure
    sure = decider.decide(SMALL, _paired(lat, thr, common=2.0, own=0.02), 50.0, incumbent=SMALL[9])
    assert sure.configuration == SMALL[4] and sure.gain_s == pytest.approx(0.1, abs=0.02)
    assert 0 < sure.gain_se_s < 0.01 and sure.incumbent.std_latency_s > 0.5
    # noise of their own far above the gain: the incumbent stays, whatever the sample means say
    for seed in range(5):
        unsure = decider.decide(SMALL, _paired(lat, thr, common=0.0, own=1.5, seed=seed), 50.0,
                                incumbent=SMALL[9])
        assert unsure.configuration == SMALL[9], seed
    # without an incumbent the same noisy samples are ranked by their means alone
    plain = [decider.decide(SMALL, _paired(lat, thr, 0.0, 1.5, seed=s), 50.0).configuration for s in range(5)]
    assert any(c != SMALL[9] for c in plain)


def test_ties_go_to_the_incumbent_then_to_the_fewest_changes() -> None:
    lat, thr = np.full(len(SMALL), 2.0), np.full(len(SMALL), 60.0)
    decider = ConfigurationDecider(replicas=8)
    assert decider.decide(SMALL, _fixed(lat, thr), 50.0).configuration == SMALL[0]  # no incumbent: index
    assert decider.decide(SMALL, _fixed(lat, thr), 50.0, incumbent=SMALL[13]).configuration == SMALL[13]
    # the incumbent cannot carry the rate: of the equally fast others, the one nearest to it
    thr[13] = 10.0
    incumbent = SMALL[13]  # BigFoot, 2 MB, 0.5 s, 10 s
    picked = decider.decide(SMALL, _fixed(lat, thr), 50.0, incumbent=incumbent).configuration
    assert picked != incumbent
    assert sum(getattr(picked, f) != getattr(incumbent, f) for f in incumbent.to_dict()) == 1


def test_halving_never_eliminates_the_incumbent() -> None:
    space = ConfigurationSpace()
    landscape = SyntheticLandscape.random(7)
    lat, _ = landscape.true_means(space.batch())
    worst = space[int(np.argmax(lat))]
    decision = ConfigurationDecider().decide(
        space, landscape.sampler(1), landscape.arrival_rate_tps, incumbent=worst)
    assert decision.method == "halving" and decision.budget_fraction <= 0.26
    assert decision.incumbent is not None and decision.incumbent.configuration == worst
    assert decision.incumbent.replicas == max(e.replicas for e in decision.estimates)
    assert decision.configuration != worst and decision.gain_s > 0
    with pytest.raises(DtoptError, match="not in the space"):
        ConfigurationDecider().decide(SMALL, _fixed(np.ones(16), np.ones(16)), 1.0,
                                      incumbent=space[127])


def test_an_incumbent_short_of_the_rate_only_as_every_one_is_stays() -> None:
    """A horizon's end effect leaves every configuration a little short of the rate: the
    incumbent is then still held to the stable rule; one really short of the others is left."""
    lat, thr = np.full(len(SMALL), 3.0), np.full(len(SMALL), 47.0)  # all short of 49.5 tx/s
    lat[4] = 2.9
    decider = ConfigurationDecider(replicas=16, switch_cost_s=0.25)
    assert decider.decide(SMALL, _fixed(lat, thr), 50.0, incumbent=SMALL[9]).configuration == SMALL[9]
    thr[9] = 30.0  # the incumbent carries far less than the others: it is left
    assert decider.decide(SMALL, _fixed(lat, thr), 50.0, incumbent=SMALL[9]).configuration == SMALL[4]


@pytest.mark.parametrize("method", ["exhaustive", "halving"])
def test_home_is_left_only_for_a_clear_gain(method: str) -> None:
    lat, thr = np.full(len(SMALL), 3.0), np.full(len(SMALL), 60.0)
    home, other = SMALL[9], 4
    lat[9] = 2.0
    decider = ConfigurationDecider(replicas=32, departure_margin=0.1)
    # 5% faster than home: within the margin (10% of 2 s), home is kept, even with no incumbent
    lat[other] = 1.9
    for incumbent in (None, home, SMALL[other]):
        decision = decider.decide(SMALL, _fixed(lat, thr), 50.0, method, incumbent=incumbent, home=home)
        assert decision.configuration == home, incumbent  # a departure no longer clear is ended
    # 25% faster: a clear gain, taken, and kept while it stays clear
    lat[other] = 1.5
    for incumbent in (None, home, SMALL[other]):
        decision = decider.decide(SMALL, _fixed(lat, thr), 50.0, method, incumbent=incumbent, home=home)
        assert decision.configuration == SMALL[other], incumbent
    # the model's recent error raises the bar above the margin: 25% is no longer enough at 30%
    decision = decider.decide(SMALL, _fixed(lat, thr), 50.0, method, incumbent=home, home=home,
                              model_error=0.3)
    assert decision.configuration == home
    # without a home the same 5% gain is taken (no switching cost)
    lat[other] = 1.9
    assert decider.decide(SMALL, _fixed(lat, thr), 50.0, method, incumbent=home).configuration == SMALL[other]


def test_home_that_cannot_carry_the_rate_is_left() -> None:
    """The ranked latency charges a home short of capacity for its backlog: far slower, it is left."""
    lat, thr = np.full(len(SMALL), 3.0), np.full(len(SMALL), 60.0)
    lat[9], thr[9] = 30.0, 20.0
    decision = ConfigurationDecider(replicas=8).decide(SMALL, _fixed(lat, thr), 50.0, home=SMALL[9],
                                                       incumbent=SMALL[9])
    assert decision.configuration != SMALL[9] and decision.chosen.meets_rate


@pytest.mark.parametrize("bad", [{"departure_margin": -0.1}, {"departure_margin": 1.0}])
def test_departure_margin_is_checked(bad: dict) -> None:
    with pytest.raises(DtoptError, match="departure_margin"):
        ConfigurationDecider(**bad)


@pytest.mark.parametrize("error", [-0.1, 1.5, float("nan")])
def test_model_error_is_checked(error: float) -> None:
    with pytest.raises(DtoptError, match="model_error"):
        ConfigurationDecider(replicas=4).decide(SMALL, _fixed(np.ones(16), np.ones(16)), 1.0,
                                                home=SMALL[0], model_error=error)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), margin=st.floats(0.0, 0.9), error=st.floats(0.0, 1.0))
def test_a_departure_always_beats_home_by_the_margin(seed: int, margin: float, error: float) -> None:
    rng = np.random.default_rng(seed)
    lat, thr = rng.uniform(1, 10, len(SMALL)), rng.uniform(40, 80, len(SMALL))
    home = SMALL[int(rng.integers(len(SMALL)))]
    incumbent = SMALL[int(rng.integers(len(SMALL)))]
    decision = ConfigurationDecider(replicas=8, departure_margin=margin).decide(
        SMALL, _fixed(lat, thr), 50.0, incumbent=incumbent, home=home, model_error=error)
    chosen, h = SMALL.index(decision.configuration), SMALL.index(home)
    share = max(margin, error)
    short = thr[h] < (1 - share) * min(49.5, thr.max())  # home cannot carry the load: no anchor
    assert chosen == h or short or lat[h] - lat[chosen] > share * lat[h]
    if short:
        assert decision.chosen.meets_rate or not (thr >= 49.5).any()
