"""The tuned-offline static and the learned-forest baseline of ``benchmarks.consensus --space``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import _static_sweep, consensus
from benchmarks._config_baselines import BestStatic, StaticRow, scenario_under
from benchmarks._learned_forest import ForestController
from benchmarks._static_sweep import parse_seeds, static_sweep, tuned_offline
from dtopt.consensus import Chain, load_scenario, run_chain
from dtopt.consensus.view import BlockRecord, ChainView, VoteRecord
from dtopt.errors import DtoptError
from dtopt.twin.config_search import FEATURES, ConfigurationForest, ConfigurationSpace, interval_features
from tests.test_config_baselines import SPACE, _scenario, _ViewOnly

A, B = SPACE[0], SPACE[1]


def _static(latency: dict[Any, float], throughput: float = 50.0) -> BestStatic:
    rows = tuple(StaticRow(c, latency.get(c, 9.0), throughput, 50.0, None, 0, 0.0) for c in SPACE)
    return BestStatic(rows=rows, best_index=0, required_tps=49.5, runtime_s=0.0)


class _Recording(Mapping):
    """A mapping that remembers which keys were read."""

    def __init__(self, data: dict) -> None:
        self.data, self.read = data, set()

    def __getitem__(self, key):
        self.read.add(key)
        return self.data[key]

    def __iter__(self) -> Iterator:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def test_tuned_offline_reads_only_the_training_seeds_and_averages_them() -> None:
    # the test seeds favour A; the training seeds favour B on average (101 alone would pick A)
    statics = _Recording({1: _static({A: 1.0, B: 5.0}), 2: _static({A: 1.0, B: 5.0}),
                          101: _static({A: 3.0, B: 4.0}), 102: _static({A: 8.0, B: 4.0})})
    assert tuned_offline(statics, (101, 102)) == B
    assert statics.read == {101, 102}
    assert tuned_offline(statics, (101,)) == A
    # a configuration that does not keep up loses to one that does, whatever its latency
    slow = {101: BestStatic(rows=tuple(StaticRow(c, 1.0 if c == A else 4.0, 30.0 if c == A else 50.0,
                                                 50.0, None, 0, 0.0) for c in SPACE),
                            best_index=0, required_tps=49.5, runtime_s=0.0)}
    assert tuned_offline(slow, (101,)) == B
    with pytest.raises(DtoptError, match="at least one training seed"):
        tuned_offline(statics, ())


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 5)), min_size=1, max_size=5))
def test_parse_seeds_reads_ranges_and_lists(parts: list[tuple[int, int]]) -> None:
    text = ",".join(f"{a}-{a + n}" if n else str(a) for a, n in parts)
    expected = [s for a, n in parts for s in range(a, a + n + 1)]
    if len(set(expected)) == len(expected):
        assert parse_seeds(text) == tuple(expected)
    else:
        with pytest.raises(DtoptError, match="twice"):
            parse_seeds(text)


@pytest.mark.parametrize("text", ["", "a", "5-3", "-1", "1,,2", "1-2-3", "1.5"])
def test_parse_seeds_refuses_bad_text(text: str) -> None:
    with pytest.raises(DtoptError, match="--training-seeds"):
        parse_seeds(text)


def test_the_static_sweep_is_each_configuration_run_on_each_seed() -> None:
    space = ConfigurationSpace(protocols=("IBFT",), max_block_sizes_mb=(0.25, 1.0),
                               min_block_intervals_s=(0.1,), round_timeouts_s=(10.0,))
    swept = static_sweep("paper", 60.0, space, [3, 4], serial=True)
    assert list(swept) == [3, 4]
    for seed, static in swept.items():
        assert [r.configuration for r in static.rows] == list(space)
        scenario = load_scenario("paper", 60.0, seed)
        again = run_chain(scenario_under(scenario, space[1]), None, 60.0, seed).metrics
        assert static.rows[1].mean_tx_latency_s == again.mean_tx_latency_s
    assert swept[3].rows[0].mean_tx_latency_s != swept[4].rows[0].mean_tx_latency_s


def test_the_benchmark_tunes_on_training_seeds_it_never_tests_on(tmp_path, monkeypatch) -> None:
    cases = []
    case = _static_sweep._case
    monkeypatch.setattr(_static_sweep, "_case", lambda c, **kw: cases.append(c[0]) or case(c, **kw))
    space = "protocol=IBFT;block=0.25,1;interval=0.1;timeout=10"
    args = ["--scenario", "paper", "--seeds", "1", "--duration", "40", "--replicas", "8", "--serial",
            "--space", space, "--config-strategies", "Best static,Tuned offline,Learned forest",
            "--training-seeds", "101-102", "--out", str(tmp_path)]
    assert consensus.main(args) == 0
    assert sorted(set(cases)) == [1, 101, 102] and len(cases) == 3 * 2  # one sweep for both statics
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["tuned_offline"]["training_seeds"] == [101, 102]
    swept = static_sweep("paper", 40.0, ConfigurationSpace.parse(space), [101, 102], serial=True)
    assert payload["tuned_offline"]["label"] == tuned_offline(swept, (101, 102)).label()
    strategies = {r["strategy"] for r in payload["rows"]}
    assert {"Best static", "Tuned offline", "Learned forest"} <= strategies
    assert [r["config_changes"] for r in payload["rows"] if r["strategy"] == "Tuned offline"] == [0]
    assert (tmp_path / "latency_over_time.png").exists()
    assert "latency / Tuned offline" in (tmp_path / "summary.md").read_text()
    with pytest.raises(DtoptError, match="disjoint"):
        consensus.main([*args[:-4], "--training-seeds", "1-3", "--out", str(tmp_path)])


def _forest_run(seed: int) -> tuple[list, ConfigurationForest]:
    scenario = _scenario()
    learner = ConfigurationForest(SPACE, seed=seed, n_trees=5)
    controller = ForestController(learner, scenario.twin_interval_s)
    run_chain(scenario, None, 120.0, seed=3, controller=lambda chain, t_s: controller(_ViewOnly(chain), t_s))
    return controller.choices, learner


def test_the_learned_forest_is_seeded_and_reads_only_the_view() -> None:
    choices, learner = _forest_run(seed=1)
    again, _ = _forest_run(seed=1)
    other, _ = _forest_run(seed=2)
    assert choices == again
    assert choices != other
    assert len(choices) == 11
    # every interval after the first credited the configuration its blocks showed, with its context
    assert learner.plays.sum() == len(choices) - 1
    assert len({c for _, c in choices}) > 1  # it explored


def test_interval_features_from_a_hand_built_view() -> None:
    votes = tuple(VoteRecord(v, "PREPARE", 1.0) for v in ("a", "b", "c"))
    blocks = (
        BlockRecord(0, 0, "a", "IBFT", 1.0, 2.0, np.arange(100), 0.5, votes, max_block_mb=1.0),
        BlockRecord(1, 2, "b", "IBFT", 3.0, 6.0, np.arange(100, 150), 0.25, votes[:1], max_block_mb=1.0),
    )
    view = ChainView(0.0, 10.0, ("a", "b", "c", "d"), np.arange(40), np.linspace(0, 9, 40), blocks)
    fill, interblock, rounds, votes_share, rate = interval_features(view)
    assert (fill, interblock, rounds, rate) == (0.375, 3.0, 1.0, 4.0)
    assert votes_share == pytest.approx((3 / 4 + 2 / 4) / 2)  # the proposer counts as seen
    empty = interval_features(ChainView(0.0, 10.0, ("a",)))
    assert list(empty) == [0.0, 10.0, 0.0, 0.0, 0.0] and len(FEATURES) == 5


def test_the_forest_learns_which_configuration_suits_which_context() -> None:
    space = ConfigurationSpace(protocols=("IBFT", "BigFoot"), max_block_sizes_mb=(1.0,),
                               min_block_intervals_s=(0.1,), round_timeouts_s=(10.0,))
    forest = ConfigurationForest(space, seed=5, n_trees=10)
    ibft, bigfoot = forest.space.configurations()
    calm, busy = np.array([0.2, 1.0, 0.0, 1.0, 10.0]), np.array([0.9, 4.0, 1.0, 0.7, 50.0])
    for _ in range(6):  # BigFoot suits the calm chain, IBFT the busy one
        forest.update(ibft, calm, 3.0, 10.0, 10.0)
        forest.update(bigfoot, calm, 1.0, 10.0, 10.0)
        forest.update(ibft, busy, 5.0, 50.0, 50.0)
        forest.update(bigfoot, busy, 20.0, 50.0, 50.0)
    assert [forest.select(calm) for _ in range(20)].count(bigfoot) >= 18
    assert [forest.select(busy) for _ in range(20)].count(ibft) >= 18
    with pytest.raises(DtoptError, match="5 finite numbers"):
        forest.select(np.array([1.0, np.nan, 0.0, 0.0, 0.0]))
    with pytest.raises(DtoptError, match="not in the space"):
        forest.update(SPACE[0], calm, 1.0, 1.0, 1.0)


def test_a_chain_hands_the_forest_nothing_but_its_view(monkeypatch) -> None:
    # the controller reads the chain only through view(); hidden accessors are never called
    scenario = load_scenario("churn", 100.0, seed=1)
    chain = Chain(scenario, None, seed=1)
    for name in ("committed_chain", "node_config", "node_protocol", "node_round"):
        monkeypatch.setattr(chain, name, lambda *a, **k: pytest.fail("hidden state read"))
    controller = ForestController(ConfigurationForest(ConfigurationSpace(), seed=1, n_trees=3), 25.0)
    for t_s in (25.0, 50.0, 75.0):
        chain.run_until(t_s)
        controller(chain, t_s)
    assert len(controller.choices) == 3
