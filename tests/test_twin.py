"""The digital twin's MAPE-K parts, each alone, and the twin managing a chain."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from dtopt.cli import main as cli_main
from dtopt.consensus import load_scenario
from dtopt.consensus.chain import Chain, run_chain
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.protocols import MessageCosts
from dtopt.consensus.scenario import Scenario
from dtopt.consensus.view import BlockRecord, ChainView, VoteRecord
from dtopt.errors import DtoptError
from dtopt.twin import (
    Analyser,
    Decider,
    DigitalTwin,
    IntervalData,
    IntervalDataError,
    Monitor,
    OraclePrediction,
    OracleState,
    Plan,
    RoundOracle,
    SeasonalForecaster,
    check_interval,
    choose_producer,
    make_plan,
    what_if_scenarios,
)
from dtopt.twin.model_error import ModelError

NAMES = ("v0", "v1", "v2", "v3")
BANDWIDTH = np.array([1.0, 2.0, 0.5, 1.6])


def _params() -> ChainConfig:
    return ChainConfig(validators=NAMES, costs=MessageCosts(), propagation_s=np.full((4, 4), 0.01))


def _synthetic_view(offline: str = "v3", start_s: float = 0.0, end_s: float = 25.0) -> ChainView:
    """Blocks by v0, v1, v2 in turn; PREPAREs exactly at transmission + propagation + validation."""
    params = _params()
    blocks = []
    t, tx = start_s + 1.0, 0
    for height in range(6):
        proposer = height % 3
        size_mb = 0.25 + 0.05 * height
        delay_s = (0.2 + size_mb) / BANDWIDTH[proposer] + 0.01 + 0.5
        votes = tuple(
            VoteRecord(name, "PREPARE", t + (0.0 if i == proposer else delay_s))
            for i, name in enumerate(NAMES)
            if name != offline
        )
        n_tx = int(size_mb / params.tx_size_mb)
        blocks.append(BlockRecord(
            height=height, round=0, proposer=NAMES[proposer], protocol="IBFT", proposed_s=t,
            committed_s=t + 2.0, tx_ids=np.arange(tx, tx + n_tx), size_mb=size_mb, votes=votes,
            tx_arrival_s=np.linspace(start_s, t, n_tx),
        ))
        t, tx = t + 3.0, tx + n_tx
    arrivals = np.sort(np.random.default_rng(0).uniform(start_s, end_s, 500))
    return ChainView(start_s, end_s, NAMES, np.arange(500), arrivals, tuple(blocks))


# ----------------------------------------------------------------- monitor


def _corrupt(view: ChainView, kind: str) -> object:
    blocks = list(view.blocks)
    if kind == "missing":
        return None
    if kind == "empty":
        return dataclasses.replace(view, tx_ids=np.zeros(0, np.int64), tx_arrival_s=np.zeros(0), blocks=())
    if kind == "out of order":
        return dataclasses.replace(view, blocks=tuple(reversed(blocks)))
    if kind == "duplicated":
        return dataclasses.replace(view, blocks=(*blocks, blocks[-1]))
    if kind == "duplicated tx":
        return dataclasses.replace(view, tx_ids=np.zeros(view.tx_ids.size, np.int64))
    if kind == "unknown validator":
        bad = dataclasses.replace(blocks[0], votes=(*blocks[0].votes, VoteRecord("mallory", "PREPARE", 1.0)))
        return dataclasses.replace(view, blocks=(bad, *blocks[1:]))
    if kind == "malformed vote":
        bad = dataclasses.replace(blocks[0], votes=(*blocks[0].votes, ("v0", "PREPARE", 1.0)))
        return dataclasses.replace(view, blocks=(bad, *blocks[1:]))
    if kind == "unsorted arrivals":
        return dataclasses.replace(view, tx_arrival_s=view.tx_arrival_s[::-1].copy())
    if kind == "wrong window":
        return dataclasses.replace(view, start_s=view.start_s + 5.0)
    raise AssertionError(kind)


CORRUPTIONS = (
    "missing", "empty", "out of order", "duplicated", "duplicated tx", "unknown validator",
    "unsorted arrivals", "wrong window", "malformed vote",
)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_check_interval_rejects_bad_data(kind: str) -> None:
    view = _synthetic_view()
    assert check_interval(view, NAMES, 0.0, 25.0) is view
    with pytest.raises(IntervalDataError):
        check_interval(_corrupt(view, kind), NAMES, 0.0, 25.0)


def test_monitor_tracks_backlog_across_intervals() -> None:
    scenario = load_scenario("steady", 100.0, seed=3)
    chain = Chain(scenario, "IBFT", seed=3)
    monitor = Monitor(scenario.producers)
    for t in (25.0, 50.0):
        chain.run_until(t)
        data = monitor.observe(chain, t)
    everything = chain.view(0.0, 50.0)
    committed = sum(len(b.tx_ids) for b in everything.blocks)
    assert data.backlog_tx == len(everything.tx_ids) - committed
    assert 0 <= data.backlog_age_s < 50.0


@pytest.mark.parametrize("preset", ["steady", "paper"])
def test_monitor_measures_each_intervals_wait(preset: str) -> None:
    """The measured wait of every interval, against each transaction's own commit time."""
    scenario = load_scenario(preset, 300.0, seed=2)
    chain = Chain(scenario, "IBFT", seed=2)
    monitor = Monitor(scenario.producers)
    measured = []
    for t in np.arange(25.0, 301.0, 25.0):
        chain.run_until(t)
        measured.append(monitor.observe(chain, t).wait_s)
    everything = chain.view(0.0, 300.0)
    commit = dict.fromkeys(everything.tx_ids.tolist(), np.inf)
    for block in everything.blocks:
        commit.update(dict.fromkeys(block.tx_ids.tolist(), block.committed_s))
    arrival, done = everything.tx_arrival_s, np.array([commit[i] for i in everything.tx_ids.tolist()])
    for k, wait_s in enumerate(measured):
        start, end = 25.0 * k, 25.0 * (k + 1)
        present = (arrival < end) & (done >= start)
        waited = np.minimum(done[present], end) - np.maximum(arrival[present], start)
        assert wait_s == pytest.approx(waited.mean(), rel=1e-9), k
    if preset == "paper":  # its outages show; a constant would fail
        assert max(measured) > 2 * min(measured)


def test_model_error_is_a_quantile_of_recent_relative_errors() -> None:
    error = ModelError(window=3, quantile=0.5, prior=0.7, trusted_after=2)
    assert error.value() == 0.7 and error.measured() == 0.0  # not yet compared: the prior
    for predicted, measured in ((2.0, 2.0), (2.0, 4.0), (4.0, 3.0), (1.0, 1.0)):
        error.expect(predicted)
        error.observe(measured)
    assert list(error.errors) == [0.5, 0.25, 0.0] and error.value() == 0.25
    error.observe(10.0)  # nothing was expected for this interval
    error.expect(float("nan"))
    error.observe(1.0)
    assert len(error.errors) == 3
    assert ModelError(window=3, quantile=1.0, errors=error.errors).measured() == 0.5
    with pytest.raises(DtoptError, match="window"):
        ModelError(window=0)
    with pytest.raises(DtoptError, match="quantile"):
        ModelError(quantile=float("nan"))
    with pytest.raises(DtoptError, match="prior"):
        ModelError(prior=1.5)


# ----------------------------------------------------------------- analyse


def test_analyse_synthetic_view_recovers_offline_delays_and_bandwidth() -> None:
    analyser = Analyser(_params())
    estimate = analyser.analyse(IntervalData(_synthetic_view(), backlog_tx=7, backlog_age_s=3.0))
    assert estimate.offline == ("v3",)
    assert list(estimate.state.online) == [True, True, True, False]
    assert estimate.state.jitter_s == pytest.approx(0.0, abs=1e-9)
    # v0..v2 proposed: their bandwidths are exact; v3 keeps the prior
    np.testing.assert_allclose(estimate.state.bandwidth_mbps[:3], BANDWIDTH[:3], rtol=1e-6)
    assert estimate.state.bandwidth_mbps[3] == 1.0
    assert list(estimate.measured) == [True, True, True, False]
    assert np.isnan(estimate.delay_s[3]) and np.all(estimate.delay_s[:3] > 0.5)
    assert estimate.state.tx_rate_per_s == pytest.approx(500 / 25.0)
    assert (estimate.state.backlog_tx, estimate.state.next_height) == (7, 6)


def test_analyse_a_stalled_interval_marks_the_timed_out_proposers_offline() -> None:
    analyser = Analyser(_params())
    first = _synthetic_view()
    analyser.analyse(IntervalData(first, 0, 0.0))
    last = first.blocks[-1]  # height 5 committed at 18 s; v3 never voted
    stalled = ChainView(25.0, 50.0, NAMES, np.arange(500, 600), np.linspace(25.0, 49.0, 100), ())
    estimate = analyser.analyse(IntervalData(stalled, 120, 30.0))
    # 32 s without a block: rounds 0 (10 s) and 1 (20 s, the doubling timer) of height 6 timed
    # out, so their proposers are offline (under the fixed timer: 3 rounds, v0 too)
    assert estimate.state.round_elapsed_s == pytest.approx(50.0 - last.committed_s)
    assert estimate.offline == ("v2", "v3")
    assert estimate.state.next_height == 6


@pytest.mark.parametrize("round_timer", ["doubling", "fixed"])
@pytest.mark.parametrize("preset", ["faulty", "steady"])
def test_analyse_recovers_a_known_scenario(preset: str, round_timer: str) -> None:
    """Offline set, jitter and the proposers' bandwidths of a simulated chain."""
    scenario = load_scenario(preset, 100.0, seed=2).with_(round_timer=round_timer)
    chain = Chain(scenario, "IBFT", seed=2)
    params = scenario.config
    monitor, analyser = Monitor(params.validators), Analyser(params)
    for t in (25.0, 50.0, 75.0):
        chain.run_until(t)
        estimate = analyser.analyse(monitor.observe(chain, t))
    regime = scenario.regimes[0]
    assert estimate.offline == tuple(regime.offline)
    truth = np.asarray(regime.bandwidth_mbps)
    measured = estimate.measured
    # two offline proposers in a row cost 10 + 20 s under the doubling timer: fewer blocks per window
    assert measured.sum() >= (2 if preset == "faulty" and round_timer == "doubling" else 4)
    np.testing.assert_allclose(estimate.state.bandwidth_mbps[measured], truth[measured], rtol=0.1)
    assert estimate.state.jitter_s == pytest.approx(regime.jitter_s, abs=0.03)
    assert estimate.state.tx_rate_per_s == pytest.approx(regime.tx_rate_per_s, rel=0.2)
    online = ~np.isin(np.array(params.validators), regime.offline)
    assert np.all(np.isfinite(estimate.delay_s[online]))


# ----------------------------------------------------------------- scenarios, decide, execute


def _estimate() -> object:
    return Analyser(_params()).analyse(IntervalData(_synthetic_view(), 0, 0.0))


def test_what_if_scenarios() -> None:
    estimate = _estimate()
    names = [s.name for s in what_if_scenarios(estimate, NAMES, dropout=True)]
    assert names == ["as-estimated", "recovered"]  # 3 online of 4: a dropout would lose the quorum
    forecast = what_if_scenarios(estimate, NAMES, forecast_offline=[("v3",), ()])
    # "recovered" (everyone online) equals "forecast:" and is left out
    assert [s.name for s in forecast] == ["as-estimated", "forecast:v3", "forecast:"]
    assert list(forecast[1].state.online) == [True, True, True, False]
    assert forecast[2].state.online.all()


def test_make_plan_simulates_identical_states_once() -> None:
    estimate = _estimate()
    scenarios = what_if_scenarios(estimate, NAMES, forecast_offline=[("v3",), ()])
    # "forecast:v3" is the estimate itself (v3 has no vote in the synthetic view)
    assert np.array_equal(scenarios[0].state.online, scenarios[1].state.online)
    plan = make_plan(RoundOracle(_params(), replicas=8, seed=1), scenarios, ("IBFT", "BigFoot"), 25.0)
    for protocol in plan.protocols:
        same = plan.predictions[("as-estimated", protocol)]
        assert plan.predictions[("forecast:v3", protocol)] is same
        assert plan.predictions[("forecast:", protocol)] is not same


def _plan(score: dict[str, float]) -> Plan:
    def prediction(protocol: str, value: float) -> OraclePrediction:
        return OraclePrediction(protocol, 25.0, 1, value, 0.0, 2.0, 0.0, 50.0, 0.0, value, 0.0, 10.0, 10.0)

    predictions = {("as-estimated", p): prediction(p, v) for p, v in score.items()}
    return Plan(("as-estimated",), tuple(score), predictions, {})


def test_decider_argmin_and_hysteresis() -> None:
    plan = _plan({"IBFT": 3.0, "BigFoot": 2.8})
    assert Decider().decide(plan, "IBFT", "as-estimated").protocol == "BigFoot"
    held = Decider(hysteresis=0.1).decide(plan, "IBFT", "as-estimated")
    assert (held.protocol, held.switch) == ("IBFT", False)
    assert Decider(hysteresis=0.05).decide(plan, "IBFT", "as-estimated").switch
    with pytest.raises(DtoptError):
        Decider(hysteresis=1.0)
    with pytest.raises(DtoptError):
        Decider(criterion="throughput")


def test_choose_producer_skips_offline_and_untrusted() -> None:
    state = OracleState(np.array([True, False, True, True]), np.ones(4), 1.0, next_height=1)
    assert choose_producer(state, NAMES, NAMES) == "v2"  # v1 (height 1) is offline
    assert choose_producer(state, NAMES, ("v0",)) == "v0"
    assert choose_producer(state, NAMES, ("v1",)) is None
    assert choose_producer(state.with_(round_elapsed_s=2.0), NAMES, NAMES) == "v2"


def _observe(forecaster: SeasonalForecaster, history: list[tuple[str, ...]], first: int = 0) -> None:
    for k, offline in enumerate(history, start=first):
        forecaster.observe(25.0 * k, offline)


# two faulty validators offline every other 100 s; their return is seen one interval late
CYCLE = [("a", "b")] * 4 + [("a", "b")] + [()] * 3


def test_seasonal_forecaster_learns_the_period_and_the_sync_lag() -> None:
    forecaster = SeasonalForecaster(25.0)
    _observe(forecaster, CYCLE + CYCLE[:7])
    assert forecaster.period() is None  # under two full cycles of history
    forecaster.observe(25.0 * 15, ())
    assert forecaster.period() == 8 and forecaster.agreement(8) == 1.0
    assert forecaster.agreement(1) == pytest.approx(12 / 15)  # 3 changes in 15 steps
    # next: the first interval of an outage, then the late return, then everyone back
    assert forecaster.forecast() == {("a", "b"): 1.0}
    _observe(forecaster, CYCLE[:4], first=16)
    assert forecaster.forecast() == {("a", "b"): 1.0}  # they still sync in the first interval back
    _observe(forecaster, CYCLE[4:5], first=20)
    assert forecaster.forecast() == {(): 1.0}


def test_seasonal_forecaster_mixes_disagreeing_cycles() -> None:
    forecaster = SeasonalForecaster(25.0)
    faster = [("a", "b")] * 4 + [()] * 4  # one return seen at once
    _observe(forecaster, CYCLE + faster + CYCLE + CYCLE[:4])
    assert forecaster.period() == 8
    assert forecaster.forecast() == {("a", "b"): pytest.approx(2 / 3), (): pytest.approx(1 / 3)}


def test_seasonal_forecaster_falls_back_to_persistence() -> None:
    forecaster = SeasonalForecaster(25.0)
    rng = np.random.default_rng(3)
    # long random spells: nothing periodic, persistence predicts best
    history = [("a",) if spell % 2 else () for spell in range(12) for _ in range(int(rng.integers(1, 9)))]
    _observe(forecaster, history)
    assert forecaster.period() is None and forecaster.forecast() is None


def test_seasonal_forecaster_skips_gaps_and_rejects_bad_input() -> None:
    forecaster = SeasonalForecaster(25.0)
    _observe(forecaster, CYCLE[:3])
    forecaster.observe(25.0 * 5, ("a", "b"))  # intervals 3 and 4 had bad data
    assert forecaster.codes[3:5] == [-1, -1]
    forecaster.observe(25.0 * 5, ())  # the latest interval again: replaced
    assert forecaster.codes[5] == forecaster.sets.index(())
    with pytest.raises(DtoptError, match="out of order"):
        forecaster.observe(25.0, ())
    with pytest.raises(DtoptError, match="min_cycles"):
        SeasonalForecaster(25.0, min_cycles=1)
    with pytest.raises(DtoptError, match="interval_s"):
        SeasonalForecaster(0.0)


# ----------------------------------------------------------------- the twin on a chain


def _paper_fixed(duration_s: float) -> Scenario:
    """The paper's experiment with its fixed round timer. Under the doubling timer BigFoot's
    fast-path timeout doubles with the round too, so two offline proposers in a row cost it
    10 + 20 s and then a 20 s fallback, and a twin that is one interval late loses more."""
    return load_scenario("paper", duration_s, seed=1).with_(round_timer="fixed")


@pytest.fixture(scope="module")
def paper_run() -> tuple[DigitalTwin, object]:
    scenario = _paper_fixed(475.0)
    twin = DigitalTwin.from_scenario(scenario, replicas=64, seed=1)
    return twin, run_chain(scenario, "IBFT", 475.0, seed=1, controller=twin)


def test_twin_switches_within_two_intervals_of_a_regime_change(paper_run: tuple) -> None:
    twin, run = paper_run
    chosen = {r.t_s: r.chosen for r in twin.records}
    for change_s in (100.0, 200.0, 300.0, 400.0):
        expected = "IBFT" if int(change_s // 100) % 2 else "BigFoot"
        assert expected in (chosen[change_s + 25.0], chosen[change_s + 50.0]), change_s
    # and the chain follows: blocks committed late in each regime ran the chosen protocol
    for start_s, protocol in ((50.0, "BigFoot"), (150.0, "IBFT"), (350.0, "IBFT")):
        late = run.chain.view(start_s + 25.0, start_s + 50.0).blocks
        assert late and all(b.protocol == protocol for b in late)


def test_twin_beats_the_worse_static_protocol(paper_run: tuple) -> None:
    _, run = paper_run
    scenario = _paper_fixed(475.0)
    static = {p: run_chain(scenario, p, 475.0, seed=1).metrics.mean_tx_latency_s for p in ("IBFT", "BigFoot")}
    assert run.metrics.mean_tx_latency_s < max(static.values())


def test_seasonal_twin_switches_at_the_change_the_reactive_one_reacts_to() -> None:
    # the faulty validators drop out at 500 s and 700 s; by then the seasonal twin has
    # seen two cycles and picks IBFT at the boundary, the reactive one an interval later
    scenario = _paper_fixed(750.0)
    chosen = {}
    for mode in ("seasonal", "off"):
        twin = DigitalTwin.from_scenario(scenario, replicas=64, seed=1, anticipate=mode)
        run_chain(scenario, "IBFT", 750.0, seed=1, controller=twin)
        chosen[mode] = {r.t_s: r.chosen for r in twin.records}
    for drop_s in (500.0, 700.0):
        assert chosen["off"][drop_s] == "BigFoot" and chosen["off"][drop_s + 25.0] == "IBFT"
    # by 700 s it has seen three cycles (at 500 s, two, and seed 1 still ranks BigFoot first there)
    assert chosen["seasonal"][700.0] == "IBFT" and chosen["seasonal"][675.0] == "BigFoot"
    assert chosen["seasonal"][525.0] == "IBFT"


def test_same_seed_same_twin_run() -> None:
    scenario = load_scenario("paper", 150.0, seed=4)
    results = []
    for _ in range(2):
        twin = DigitalTwin.from_scenario(scenario, replicas=32, seed=4)
        run = run_chain(scenario, "IBFT", 150.0, seed=4, controller=twin)
        results.append(([r.to_dict() for r in twin.records], run.metrics.to_dict()))
    assert results[0] == results[1]


class _Corrupting:
    """A chain whose outside view is corrupted in some intervals (what the twin sees)."""

    def __init__(self, chain: Chain, kind: str) -> None:
        self.chain, self.kind = chain, kind

    @property
    def now_s(self) -> float:
        return self.chain.now_s

    @property
    def protocol(self) -> str:
        return self.chain.protocol

    def view(self, start_s: float, end_s: float) -> object:
        return _corrupt(self.chain.view(start_s, end_s), self.kind)

    def request_switch(self, protocol: str, producer: str) -> None:
        self.chain.request_switch(protocol, producer)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corrupt_interval_data_does_not_stop_the_run(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    scenario = load_scenario("paper", 150.0, seed=1)
    twin = DigitalTwin.from_scenario(scenario, replicas=16, seed=1)
    bad_times = {50.0, 100.0}

    def controller(chain: Chain, t_s: float) -> None:
        twin(_Corrupting(chain, kind) if t_s in bad_times else chain, t_s)

    with caplog.at_level(logging.WARNING, logger="dtopt.twin"):
        run = run_chain(scenario, "IBFT", 150.0, seed=1, controller=controller)
    assert run.metrics.n_blocks > 0
    skipped = [r for r in twin.records if r.error is not None]
    assert [r.t_s for r in skipped] == sorted(bad_times)
    assert all(r.chosen == r.in_force and not r.switched for r in skipped)
    lines = [rec for rec in caplog.records if rec.name == "dtopt.twin"]
    assert len(lines) == len(bad_times)
    assert all("\n" not in rec.getMessage() for rec in lines)
    good = [r for r in twin.records if r.error is None]
    assert len(good) == len(twin.records) - len(bad_times)


@pytest.mark.parametrize("error", [KeyError("oracle bug"), DtoptError("oracle bug")])
def test_an_oracle_bug_surfaces_instead_of_skipping_the_interval(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only bad interval data is skipped; an exception from planning is a bug and stops the run."""
    scenario = load_scenario("paper", 100.0, seed=1)
    twin = DigitalTwin.from_scenario(scenario, replicas=8, seed=1)

    def broken(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(RoundOracle, "predict_many", broken)
    with pytest.raises(type(error), match="oracle bug"):
        run_chain(scenario, "IBFT", 100.0, seed=1, controller=twin)
    assert twin.records == []


def test_twin_rejects_bad_options() -> None:
    scenario = load_scenario("paper", 100.0, seed=1)
    with pytest.raises(DtoptError, match="trusted"):
        DigitalTwin.from_scenario(scenario, trusted=("nobody",))
    with pytest.raises(DtoptError, match="replicas"):
        DigitalTwin.from_scenario(scenario, replicas=0)
    with pytest.raises(DtoptError, match="unknown protocol"):
        DigitalTwin.from_scenario(scenario, protocols=("Raft",))


# ----------------------------------------------------------------- CLI


def test_cli_twin_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["twin", "run", "--scenario", "paper", "--duration", "100", "--seed", "1",
                     "--replicas", "16"]) == 0
    out = capsys.readouterr().out
    assert "mean tx latency" in out and "BigFoot" in out
    assert cli_main(["twin", "run", "--duration", "60", "--replicas", "16", "--json"]) == 0
    import json

    payload = json.loads(capsys.readouterr().out)
    assert payload["metrics"]["n_blocks"] > 0 and len(payload["decisions"]) == 2


def test_cli_twin_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["twin", "run", "--duration", "60", "--hysteresis", "2"]) == 2
    assert "dtopt: error: hysteresis" in capsys.readouterr().err


def test_decider_worst_case_over_scenarios() -> None:
    def prediction(protocol: str, value: float) -> OraclePrediction:
        return OraclePrediction(protocol, 25.0, 1, value, 0.0, 2.0, 0.0, 50.0, 0.0, value, 0.0, 10.0, 10.0)

    scores = {"as-estimated": {"IBFT": 3.0, "BigFoot": 2.5}, "dropout": {"IBFT": 20.0, "BigFoot": 30.0}}
    predictions = {(s, p): prediction(p, v) for s, values in scores.items() for p, v in values.items()}
    plan = Plan(tuple(scores), ("IBFT", "BigFoot"), predictions, {})
    assert Decider().decide(plan, "BigFoot", "as-estimated").protocol == "BigFoot"
    robust = Decider().decide(plan, "BigFoot", tuple(scores))
    assert (robust.protocol, robust.switch, robust.weighed) == ("IBFT", True, tuple(scores))
    assert robust.predicted_score_s == {"IBFT": 20.0, "BigFoot": 30.0}
    # weighed by probability instead: IBFT 0.9 * 3 + 0.1 * 20 = 4.7, BigFoot 0.9 * 2.5 + 0.1 * 30 = 5.25
    expected = Decider().decide(plan, "BigFoot", tuple(scores), weights=[0.9, 0.1])
    assert expected.predicted_score_s == pytest.approx({"IBFT": 4.7, "BigFoot": 5.25})
    assert expected.protocol == "IBFT"
    likely = Decider().decide(plan, "IBFT", tuple(scores), weights=[0.98, 0.02])
    assert likely.protocol == "BigFoot"  # 0.98 * 2.5 + 0.02 * 30 = 3.05 < 3.34
    for bad in ([1.0], [0.5, -0.5], [0.0, 0.0], [np.nan, 1.0]):
        with pytest.raises(DtoptError, match="weights"):
            Decider().decide(plan, "IBFT", tuple(scores), weights=bad)


def test_seasonal_forecaster_keeps_an_unexpected_outage() -> None:
    forecaster = SeasonalForecaster(25.0)
    _observe(forecaster, CYCLE + CYCLE + CYCLE[:3])
    forecaster.observe(25.0 * 19, ("a", "b", "c"))  # c was never offline at this phase
    assert forecaster.forecast() == {("a", "b", "c"): 1.0}
    _observe(forecaster, [("a", "b", "c"), ("c",)], first=20)
    assert forecaster.forecast() == {("c",): 1.0}  # a and b return as usual, c stays out
