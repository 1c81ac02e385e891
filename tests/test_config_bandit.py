"""The model-free bandit over configurations: seeded, deterministic, converges, honours the rate."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from dtopt.errors import DtoptError
from dtopt.twin.config_search import (
    Configuration,
    ConfigurationBandit,
    ConfigurationSpace,
    SyntheticLandscape,
)

SPACE = ConfigurationSpace.parse("protocol=IBFT,BigFoot;block=1,2,4;interval=0.5;timeout=5,10")


def _run(bandit: ConfigurationBandit, landscape: SyntheticLandscape, steps: int, seed: int) -> list[int]:
    """Play ``steps`` intervals on a stationary landscape (one noisy sample per interval)."""
    evaluate = landscape.sampler(seed)
    picks = []
    for _ in range(steps):
        config = bandit.select()
        latency_s, throughput_tps = evaluate(SPACE.batch([SPACE.index(config)]), 1)
        bandit.update(config, float(latency_s[0, 0]), float(throughput_tps[0, 0]))
        picks.append(SPACE.index(config))
    return picks


@pytest.mark.parametrize("policy", ["ucb", "thompson"])
def test_deterministic_for_a_seed(policy: str) -> None:
    landscape = SyntheticLandscape()
    runs = [
        _run(ConfigurationBandit(SPACE, arrival_rate_tps=50.0, policy=policy, seed=seed), landscape, 80, 1)
        for seed in (4, 4, 5)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert sorted(runs[0][: len(SPACE)]) == list(range(len(SPACE)))  # every arm tried once first


@pytest.mark.parametrize("policy", ["ucb", "thompson"])
@pytest.mark.parametrize("offline_fraction", [0.0, 0.2])
def test_converges_to_the_best_arm(policy: str, offline_fraction: float) -> None:
    landscape = SyntheticLandscape(offline_fraction=offline_fraction, noise=0.25)
    latency_s, throughput_tps = landscape.true_means(SPACE.batch())
    cost_s = np.where(throughput_tps >= 0.99 * 50.0, latency_s, np.inf)
    best = set(np.flatnonzero(np.isclose(cost_s, cost_s.min(), rtol=1e-3)))  # ties: a timeout never fired
    bandit = ConfigurationBandit(SPACE, arrival_rate_tps=50.0, policy=policy, seed=2)
    picks = _run(bandit, landscape, 1500, 3)
    assert sum(c for arm, c in collections.Counter(picks[-500:]).items() if arm in best) >= 400
    assert SPACE.index(bandit.best()) in best


@pytest.mark.parametrize("policy", ["ucb", "thompson"])
def test_penalty_keeps_it_off_a_fast_arm_that_cannot_carry_the_rate(policy: str) -> None:
    space = ConfigurationSpace.parse("protocol=IBFT;block=1,2;interval=0.5;timeout=10")
    fast, carries = space[0], space[1]  # 2 s at 35 tx/s versus 5 s at 50 tx/s
    rng = np.random.default_rng(0)

    def play(bandit: ConfigurationBandit, steps: int) -> list[Configuration]:
        chosen = []
        for _ in range(steps):
            config = bandit.select()
            mean_s, mean_tps = (2.0, 35.0) if config == fast else (5.0, 50.0)
            bandit.update(config, mean_s * rng.lognormal(0, 0.2), mean_tps * rng.lognormal(0, 0.05))
            chosen.append(config)
        return chosen

    constrained = play(ConfigurationBandit(space, arrival_rate_tps=50.0, policy=policy, seed=1), 300)
    assert constrained[-100:].count(carries) >= 95
    unconstrained = play(ConfigurationBandit(space, policy=policy, seed=1), 300)
    assert unconstrained[-100:].count(fast) >= 95


@pytest.mark.parametrize("policy", ["ucb", "thompson"])
def test_discount_follows_a_change_of_best_arm(policy: str) -> None:
    space = ConfigurationSpace.parse("protocol=IBFT;block=1,2,4;interval=0.5;timeout=10")
    rng = np.random.default_rng(0)

    def play(bandit: ConfigurationBandit, steps: int, best: int) -> list[int]:
        chosen = []
        for _ in range(steps):
            arm = space.index(bandit.select())
            mean_s = 3.0 if arm == best else 6.0
            bandit.update(space[arm], mean_s * rng.lognormal(0, 0.2), 50.0)
            chosen.append(arm)
        return chosen

    forgetting = ConfigurationBandit(space, arrival_rate_tps=50.0, policy=policy, seed=1, discount=0.95)
    stationary = ConfigurationBandit(space, arrival_rate_tps=50.0, policy=policy, seed=1)
    after = {}
    for name, bandit in (("forgetting", forgetting), ("stationary", stationary)):
        play(bandit, 1000, best=0)  # then the regime changes: arm 2 becomes the best
        after[name] = play(bandit, 150, best=2)
    assert after["forgetting"][-100:].count(2) >= 80
    assert after["stationary"][:150].count(2) < after["forgetting"][:150].count(2)


def test_bad_input() -> None:
    bandit = ConfigurationBandit(SPACE, arrival_rate_tps=50.0)
    with pytest.raises(DtoptError, match="no configuration has been observed"):
        bandit.best()
    with pytest.raises(DtoptError, match="not in the space"):
        bandit.update(Configuration("IBFT", 3.0, 0.5, 5.0), 1.0, 1.0)
    with pytest.raises(DtoptError, match="observed_latency_s"):
        bandit.update(SPACE[0], float("nan"), 1.0)
    with pytest.raises(DtoptError, match="observed_throughput_tps"):
        bandit.update(SPACE[0], 1.0, -1.0)
    for bad in ({"policy": "greedy"}, {"seed": -1}, {"penalty_s": float("inf")}, {"throughput_slack": 1.0},
                {"exploration": -1.0}, {"arrival_rate_tps": float("nan")}, {"discount": 0.0},
                {"discount": 1.5}):
        with pytest.raises(DtoptError):
            ConfigurationBandit(SPACE, **bad)
    with pytest.raises(DtoptError):
        ConfigurationBandit("IBFT")  # type: ignore[arg-type]
