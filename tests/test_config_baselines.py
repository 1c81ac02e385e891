"""Baselines over a configuration space: best static, per-interval clairvoyant, bandit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks.consensus.baselines import (
    BanditController,
    BestStatic,
    SpaceClairvoyant,
    StaticRow,
    best_static,
    pick_best,
    shortlist,
)
from benchmarks.consensus.hindsight import interval_wait_s, request_change, trusted_producer
from dtopt.consensus import Chain, Regime, load_scenario, run_chain, uniform_scenario
from dtopt.errors import DtoptError
from dtopt.twin.config_search import Configuration, ConfigurationBandit, ConfigurationSpace

SPACE = ConfigurationSpace(protocols=("IBFT", "BigFoot"), max_block_sizes_mb=(0.25, 1.0),
                           min_block_intervals_s=(0.1,), round_timeouts_s=(4.0, 10.0))


def _scenario():
    """4 validators at 30 tx/s; bp3 offline from 30 s to 70 s (timeouts and block size matter)."""
    base = uniform_scenario(4, tx_rate_per_s=30.0, jitter_s=0.05, twin_interval_s=10.0, state_period_s=50.0)
    bw = base.regimes[0].bandwidth_mbps
    return base.with_(regimes=(
        base.regimes[0],
        Regime(start_s=30.0, offline=("bp3",), bandwidth_mbps=bw, tx_rate_per_s=30.0, jitter_s=0.05),
        Regime(start_s=70.0, bandwidth_mbps=bw, tx_rate_per_s=30.0, jitter_s=0.05),
    ))


def _reference_wait_s(chain: Chain, start_s: float, end_s: float) -> float:
    """The waiting time by its definition, from the whole view (slow but plain)."""
    view = chain.view(0.0, end_s)
    commit_s = np.full(view.tx_arrival_s.size, np.inf)
    for block in view.blocks:
        commit_s[block.tx_ids] = block.committed_s
    present = (view.tx_arrival_s < end_s) & (commit_s >= start_s)
    waited = np.minimum(commit_s, end_s) - np.maximum(view.tx_arrival_s, start_s)
    return float(waited[present].sum() / max(int(present.sum()), 1))


def test_interval_wait_from_the_window_equals_its_definition() -> None:
    run = run_chain(load_scenario("paper", 400.0, seed=2), "BigFoot", 400.0, seed=2)
    for start_s in (0.0, 25.0, 125.0, 300.0, 375.0):
        assert interval_wait_s(run.chain, start_s, start_s + 25.0) == pytest.approx(
            _reference_wait_s(run.chain, start_s, start_s + 25.0), rel=1e-12)


def _row(latency: float | None, throughput: float) -> StaticRow:
    return StaticRow(Configuration("IBFT", 1.0, 0.1, 10.0), latency, throughput, 50.0, None, 0, 0.0)


def test_pick_best_keeps_the_fastest_that_keeps_up_else_the_highest_throughput() -> None:
    rows = [_row(3.0, 40.0), _row(9.0, 49.6), _row(7.0, 49.5), _row(None, 0.0)]
    assert pick_best(rows) == (2, pytest.approx(49.5))  # 3 s is faster but carries only 80 %
    assert pick_best(rows[:1] + rows[3:])[0] == 0  # nobody keeps up: the highest throughput
    with pytest.raises(DtoptError):
        pick_best([])


def test_best_static_runs_every_configuration_and_picks_the_true_best() -> None:
    scenario = _scenario()
    # 100 s: what arrived in the last seconds is not committed yet, so 95 % counts as keeping up
    result = best_static(scenario, SPACE, 100.0, seed=3, throughput_share=0.95)
    assert [r.configuration for r in result.rows] == list(SPACE)
    assert len({r.arrival_rate_tps for r in result.rows}) == 1  # same transactions under each
    # each row ran its own configuration: 0.25 MB blocks cannot carry 30 tx/s of 5 KB here
    small = [r for r in result.rows if r.configuration.max_block_size_mb == 0.25]
    large = [r for r in result.rows if r.configuration.max_block_size_mb == 1.0]
    assert max(r.throughput_tps for r in small) < min(r.throughput_tps for r in large)
    keeping_up = [i for i, r in enumerate(result.rows) if r.throughput_tps >= result.required_tps]
    assert 0 < len(keeping_up) < len(SPACE)
    assert result.best_index == min(keeping_up, key=lambda i: result.rows[i].mean_tx_latency_s)
    for i, row in enumerate(result.rows):  # and it is what a plain run of that configuration gives
        if i in (0, result.best_index):
            config = scenario.config.switched(**row.configuration.to_dict())
            again = run_chain(scenario.with_(config=config), None, 100.0, seed=3).metrics
            assert again.mean_tx_latency_s == row.mean_tx_latency_s
            assert again.throughput_tps == row.throughput_tps


def test_the_clairvoyant_gets_what_it_foresaw_and_nothing_was_better() -> None:
    scenario = _scenario()
    clairvoyant = SpaceClairvoyant(scenario, SPACE)
    run = run_chain(scenario, None, 100.0, seed=3, controller=clairvoyant)
    assert [t for t, _, _ in clairvoyant.choices] == [10.0 * k for k in range(1, 10)]
    assert len({c for _, c, _ in clairvoyant.choices}) > 1  # it did change its mind
    replay = Chain(scenario, None, seed=3)  # the same run, its branches explored again
    mattered = 0
    for t_s, chosen, wait_s in clairvoyant.choices:
        # the real chain's interval waited exactly what the branch foresaw
        assert interval_wait_s(run.chain, t_s, t_s + 10.0) == pytest.approx(wait_s, rel=1e-12)
        replay.run_until(t_s)
        producer = trusted_producer(replay, scenario, t_s)
        waits = clairvoyant.waits_s(replay, t_s, producer)
        assert waits.min() == pytest.approx(wait_s, rel=1e-12)  # no configuration would have waited less
        mattered += waits.max() > waits.min()
        request_change(replay, scenario, t_s, chosen.to_dict(), producer)
    assert mattered >= 6  # in most intervals the choice made a difference
    replay.run_until(100.0)  # exploring branches left the replay on the clairvoyant's trajectory
    assert [b.committed_s for b in replay.view(0.0, 100.0).blocks] == [b.committed_s for b in run.view.blocks]


class _ViewOnly:
    """A chain seen from outside: the view and the configuration request, nothing else."""

    def __init__(self, chain: Chain) -> None:
        self._chain = chain

    def view(self, start_s: float, end_s: float) -> Any:
        return self._chain.view(start_s, end_s)

    def request_config(self, producer: str, **changes: Any) -> None:
        self._chain.request_config(producer, **changes)


def _bandit_run(seed: int) -> tuple[list, ConfigurationBandit]:
    scenario = _scenario()
    bandit = ConfigurationBandit(SPACE, policy="ucb", seed=seed)
    controller = BanditController(bandit, scenario.twin_interval_s)
    run_chain(scenario, None, 200.0, seed=3, controller=lambda chain, t_s: controller(_ViewOnly(chain), t_s))
    return controller.choices, bandit


def test_the_bandit_is_seeded_reads_only_the_view_and_learns_from_what_the_blocks_show() -> None:
    choices, bandit = _bandit_run(seed=1)
    again, _ = _bandit_run(seed=1)
    other, _ = _bandit_run(seed=2)
    assert choices == again
    assert choices != other
    assert len(choices) == 19
    # every interval had blocks and credited one configuration, every one was tried
    assert bandit.plays.sum() == len(choices) and bandit.plays.min() >= 1


def test_the_bandit_tries_every_arm_first_even_when_an_unselected_arm_is_credited() -> None:
    bandit = ConfigurationBandit(SPACE, seed=4)
    bandit.update(SPACE[3], 5.0, 30.0)  # the configuration in force before any choice
    chosen = []
    for _ in range(len(SPACE) - 1):
        chosen.append(bandit.select())
        bandit.update(chosen[-1], 5.0, 30.0)
    assert sorted(map(SPACE.index, chosen)) == [0, 1, 2, 4, 5, 6, 7]


def test_the_clairvoyant_can_be_limited_to_the_configurations_that_keep_up() -> None:
    rows = tuple(StaticRow(c, 5.0, 49.8 if c.max_block_size_mb == 1.0 else 30.0, 50.0, None, 0, 0.0)
                 for c in SPACE)
    static = BestStatic(rows=rows, best_index=2, required_tps=49.5, runtime_s=0.0)
    kept = shortlist(static)
    assert kept == tuple(c for c in SPACE if c.max_block_size_mb == 1.0)
    assert SpaceClairvoyant(_scenario(), SPACE, kept).configurations == kept
    assert shortlist(static, 2) == kept[:2]
    nobody = BestStatic(rows=rows, best_index=2, required_tps=60.0, runtime_s=0.0)
    assert shortlist(nobody) == kept + tuple(c for c in SPACE if c.max_block_size_mb != 1.0)
    with pytest.raises(DtoptError, match="not in the space"):
        SpaceClairvoyant(_scenario(), SPACE, [Configuration("IBFT", 3.0, 0.1, 10.0)])
    with pytest.raises(DtoptError, match="at least one"):
        SpaceClairvoyant(_scenario(), SPACE, [])
