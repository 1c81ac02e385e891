"""Bad input to the consensus side: one clear line, never a traceback, NaN or a hang.

Table-driven: the CLI (``dtopt chain``/``dtopt twin``) and the consensus benchmarks
exit with status 2 and exactly one stderr line; the library raises ``DtoptError``
with a message. Then hypothesis writes random scenario files, malformed ones
included: dtopt runs them with finite numbers or refuses them with DtoptError.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dtopt.cli
from benchmarks import chain_speed, consensus, oracle_speed
from benchmarks.common.output import run_main
from dtopt.consensus import Chain, MessageCosts, chain_metrics, load_scenario, run_chain, uniform_scenario
from dtopt.consensus.limits import MAX_BLOCKS, MAX_DURATION_S, MAX_NODES, MAX_TX
from dtopt.errors import DtoptError
from dtopt.twin import DigitalTwin, RoundOracle

BAD_FILE = "bad.toml"  # written per test: a table where a list of nodes belongs

CLI_CASES = {
    "chain negative seed": (["chain", "run", "--duration", "30", "--seed", "-1"], "seed"),
    "chain huge seed": (["chain", "run", "--duration", "30", "--seed", str(2**64)], "seed"),
    "chain zero duration": (["chain", "run", "--duration", "0"], "duration_s"),
    "chain nan duration": (["chain", "run", "--duration", "nan"], "duration_s"),
    "chain inf duration": (["chain", "run", "--duration", "inf"], "duration_s"),
    "chain duration over limit": (["chain", "run", "--duration", "1e9"], f"{MAX_DURATION_S:g}"),
    "chain too many blocks": (["chain", "run", "--duration", "50000"], f"{MAX_BLOCKS:,}"),
    "chain unknown protocol": (["chain", "run", "--duration", "30", "--protocol", "PBFT"], "PBFT"),
    "chain unknown scenario": (["chain", "run", "--scenario", "nope"], "nope"),
    "chain missing file": (["chain", "run", "--scenario", "missing.toml"], "missing.toml"),
    "chain malformed file": (["chain", "run", "--scenario", BAD_FILE], "nodes"),
    "chain not a number": (["chain", "run", "--duration", "ten"], "--duration"),
    "chain unknown option": (["chain", "run", "--bogus"], "--bogus"),
    "chain no action": (["chain"], "action"),
    "twin negative seed": (["twin", "run", "--duration", "30", "--seed", "-5"], "seed"),
    "twin zero replicas": (["twin", "run", "--duration", "30", "--replicas", "0"], "replicas"),
    "twin huge replicas": (["twin", "run", "--duration", "30", "--replicas", "100000000"], "replicas"),
    "twin hysteresis 1": (["twin", "run", "--duration", "30", "--hysteresis", "1"], "hysteresis"),
    "twin hysteresis nan": (["twin", "run", "--duration", "30", "--hysteresis", "nan"], "hysteresis"),
    "twin negative duration": (["twin", "run", "--duration", "-3"], "duration_s"),
    "twin bad anticipate": (["twin", "run", "--anticipate", "psychic"], "anticipate"),
    "twin unknown protocol": (["twin", "run", "--duration", "30", "--protocol", "raft"], "raft"),
}

BENCH_CASES = {
    "consensus zero seeds": (consensus.main, ["--seeds", "0"], "--seeds"),
    "consensus negative duration": (consensus.main, ["--duration", "-1", "--serial"], "duration_s"),
    "consensus huge replicas": (consensus.main, ["--replicas", "10000000", "--serial"], "replicas"),
    "consensus zero workers": (consensus.main, ["--workers", "0"], "--workers"),
    "consensus unknown scenario": (consensus.main, ["--scenario", "nope", "--serial"], "nope"),
    "consensus old --jobs": (consensus.main, ["--jobs", "2"], "--jobs"),
    "consensus unwritable out": (consensus.main, ["--serial", "--duration", "30", "--out", "/proc/x"],
                                 "/proc/x"),
    "chain_speed short": (chain_speed.main, ["--duration", "10"], "--duration"),
    "chain_speed bad scenario": (chain_speed.main, ["--scenario", "nope"], "nope"),
    "oracle_speed zero replicas": (oracle_speed.main, ["--replicas", "0"], "--replicas"),
    "oracle_speed unwritable out": (oracle_speed.main, ["--out", "/proc/x"], "/proc/x"),
}


def _one_clean_line(err: str, needle: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and needle in lines[0], err


@pytest.mark.parametrize("argv, needle", CLI_CASES.values(), ids=CLI_CASES.keys())
def test_cli_refuses_with_one_line(argv, needle, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    Path(BAD_FILE).write_text('nodes = {a = 1}\n[[regimes]]\nstart_s = 0\n')
    try:
        status = dtopt.cli.main(argv)
    except SystemExit as exit_:  # argparse usage errors
        status = exit_.code
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    _one_clean_line(err, needle)


@pytest.mark.parametrize("main, argv, needle", BENCH_CASES.values(), ids=BENCH_CASES.keys())
def test_benchmarks_refuse_with_one_line(main, argv, needle, capsys) -> None:
    try:
        status = run_main(main, argv, prog="bench")
    except SystemExit as exit_:
        status = exit_.code
    _, err = capsys.readouterr()
    assert status == 2
    _one_clean_line(err, needle)


def _scenario(**fields):
    return uniform_scenario(4, tx_rate_per_s=10.0, **fields)


LIBRARY_CASES = {
    "negative seed, preset": (lambda: load_scenario("paper", 100.0, seed=-1), "seed"),
    "float seed, preset": (lambda: load_scenario("paper", 100.0, seed=1.5), "seed"),
    "negative seed, chain": (lambda: Chain(_scenario(), seed=-2), "seed"),
    "negative seed, run": (lambda: run_chain(_scenario(), "IBFT", 10.0, seed=-3), "seed"),
    "negative seed, twin": (lambda: DigitalTwin.from_scenario(_scenario(), seed=-4), "seed"),
    "duration nan": (lambda: run_chain(_scenario(), "IBFT", float("nan")), "duration_s"),
    "duration over limit": (lambda: run_chain(_scenario(), "IBFT", 2 * MAX_DURATION_S), "limit"),
    "preset duration over limit": (lambda: load_scenario("paper", 1e12), "limit"),
    "tx rate over limit": (lambda: run_chain(uniform_scenario(4, tx_rate_per_s=1e9), "IBFT", 100.0),
                           f"{MAX_TX:,}"),
    "tx rate over limit, run_until": (lambda: Chain(uniform_scenario(4, tx_rate_per_s=1e12)).run_until(1.0),
                                      f"{MAX_TX:,}"),
    "blocks take no time": (
        lambda: run_chain(_scenario(min_block_interval_s=0.0, costs=MessageCosts(create_block_s=0.0)),
                          "IBFT", 10.0), "create_block_s"),
    "too many twin intervals": (
        lambda: run_chain(_scenario(twin_interval_s=1e-4, state_period_s=1e-4), "IBFT", 100.0,
                          controller=lambda chain, t: None), "twin intervals"),
    "oracle replicas over limit": (
        lambda: RoundOracle(_scenario().config, replicas=10**7), "replicas"),
    "empty metrics window": (
        lambda: chain_metrics(Chain(_scenario()).view(5.0, 5.0)), "duration_s"),
}


@pytest.mark.parametrize("call, needle", LIBRARY_CASES.values(), ids=LIBRARY_CASES.keys())
def test_library_refuses_with_dtopt_error(call, needle) -> None:
    with pytest.raises(DtoptError) as info:
        call()
    message = str(info.value)
    assert message and "\n" not in message and needle in message, message


def test_too_many_nodes_refused_before_the_matrix(tmp_path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps({
        "nodes": [f"n{i}" for i in range(MAX_NODES + 1)],
        "regimes": [{"start_s": 0, "bandwidth_mbps": 1.0, "tx_rate_per_s": 1.0}],
    }))
    with pytest.raises(DtoptError, match=f"{MAX_NODES:,}"):
        load_scenario(path)


# --------------------------------------------------------------------------- empty windows


def test_empty_windows_print_and_serialise(capsys) -> None:
    """Nothing committed (a run shorter than one block): n/a in the summaries, null in JSON."""
    for argv in (["chain", "run", "--duration", "0.5"], ["twin", "run", "--duration", "0.5"]):
        assert dtopt.cli.main(argv) == 0
        out, err = capsys.readouterr()
        assert "mean tx latency" in out and "n/a" in out and err == ""
    assert dtopt.cli.main(["twin", "run", "--duration", "0.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["metrics"]["mean_tx_latency_s"] is None and data["metrics"]["n_blocks"] == 0


def test_everyone_offline_twin_run(tmp_path, capsys) -> None:
    path = tmp_path / "down.toml"
    path.write_text('nodes = ["a", "b", "c", "d"]\n[[regimes]]\nstart_s = 0\noffline = ["a", "b", "c", "d"]\n'
                    "bandwidth_mbps = 1.0\ntx_rate_per_s = 10\n")
    assert dtopt.cli.main(["twin", "run", "--scenario", str(path), "--duration", "60"]) == 0
    out, err = capsys.readouterr()
    assert "skipped" in out and "mean tx latency n/a" in out and err == ""


# --------------------------------------------------------------------------- random scenario files

NAMES = st.sampled_from(["a", "b", "c", "d", "e", "", 3, None])
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=0.0, max_value=5.0),
    st.integers(min_value=-3, max_value=10**12),
    st.sampled_from([0, 0.0, 1e-300, 1e300, "1", True, None, [1.0]]),
)
SMALL = st.floats(min_value=1e-3, max_value=3.0)


@st.composite
def scenario_dicts(draw) -> dict:
    """Mostly plausible scenarios with a few fields replaced by anything at all."""
    n = draw(st.integers(1, 6))
    nodes = [f"n{i}" for i in range(n)]
    regimes = []
    start = 0.0
    for _ in range(draw(st.integers(1, 3))):
        regimes.append({
            "start_s": start,
            "bandwidth_mbps": draw(st.one_of(SMALL, st.lists(SMALL, min_size=n, max_size=n))),
            "tx_rate_per_s": draw(st.floats(0.0, 100.0)),
            "jitter_s": draw(st.floats(0.0, 0.2)),
            "offline": draw(st.lists(st.sampled_from(nodes), unique=True, max_size=n)),
        })
        start += draw(st.floats(0.5, 20.0))
    data: dict = {"nodes": nodes, "regimes": regimes, "twin_interval_s": draw(st.floats(1.0, 10.0)),
                  "min_block_interval_s": draw(st.floats(0.0, 1.0)),
                  "costs": {"create_block_s": draw(st.floats(0.0, 0.2)),
                            "validate_block_s": draw(st.floats(0.0, 0.5))}}
    for _ in range(draw(st.integers(0, 2))):  # break something
        where = draw(st.sampled_from(["top", "regime", "costs", "names"]))
        if where == "top":
            key = draw(st.sampled_from([
                "tx_size_mb", "max_block_mb", "round_timeout_s", "fast_path_timeout_s", "state_period_s",
                "twin_interval_s", "min_block_interval_s", "bogus_field", "propagation_s", "regimes",
            ]))
            data[key] = draw(NUMBERS)
        elif where == "regime":
            key = draw(st.sampled_from(["start_s", "bandwidth_mbps", "tx_rate_per_s", "jitter_s", "offline",
                                        "extra"]))
            regimes[draw(st.integers(0, len(regimes) - 1))][key] = draw(NUMBERS)
        elif where == "costs":
            data["costs"][draw(st.sampled_from(["create_block_s", "vote_size_mb", "nope"]))] = draw(NUMBERS)
        else:
            data[draw(st.sampled_from(["nodes", "producers", "faulty"]))] = draw(st.lists(NAMES, max_size=4))
    return data


def _finite_or_none(metrics) -> None:
    for key, value in metrics.to_dict().items():
        if isinstance(value, float):
            assert math.isfinite(value), (key, value)
    json.loads(metrics.to_json())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=scenario_dicts(), seed=st.integers(0, 2**32), duration_s=st.floats(0.5, 30.0))
def test_random_scenario_files_run_or_refuse(tmp_path, data, seed, duration_s) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data, allow_nan=True))
    try:
        scenario = load_scenario(path, seed=seed)
        run = run_chain(scenario, "BigFoot", duration_s, seed=seed)
    except DtoptError as err:
        assert str(err) and "\n" not in str(err)
        return
    _finite_or_none(run.metrics)
    assert run.metrics.n_blocks == len(run.view.blocks)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=scenario_dicts(), seed=st.integers(0, 2**16))
def test_random_scenario_files_under_the_twin(tmp_path, data, seed) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data, allow_nan=True))
    try:
        scenario = load_scenario(path, seed=seed)
        twin = DigitalTwin.from_scenario(scenario, replicas=8, seed=seed)
        run = run_chain(scenario, "IBFT", 3 * scenario.twin_interval_s + 1.0, seed=seed, controller=twin)
    except DtoptError as err:
        assert str(err) and "\n" not in str(err)
        return
    _finite_or_none(run.metrics)
    for record in twin.records:
        json.loads(record.to_json())


@settings(max_examples=30, deadline=None)
@given(text=st.text(max_size=200))
def test_random_toml_text_is_refused_or_loaded(tmp_path_factory, text) -> None:
    path = tmp_path_factory.mktemp("toml") / "s.toml"
    path.write_text(text)
    try:
        load_scenario(path)
    except DtoptError as err:
        assert str(err) and "\n" not in str(err)


def test_metrics_to_dict_round_trip() -> None:
    run = run_chain(load_scenario("paper", 60.0, seed=1), "IBFT", 60.0, seed=1)
    data = json.loads(run.metrics.to_json())
    assert data == run.metrics.to_dict() and data["n_blocks"] == run.metrics.n_blocks > 0
    assert np.isclose(data["throughput_tps"], run.metrics.n_tx_committed / 60.0)
