"""Scenario presets, files and validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dtopt.consensus import (
    SCENARIOS,
    MessageCosts,
    Regime,
    load_scenario,
    scenario_from_dict,
    uniform_scenario,
)
from dtopt.errors import DtoptError

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "scenarios" / "example.toml"


def test_paper_preset_matches_the_seed_experiment() -> None:
    s = load_scenario("paper", duration_s=1000.0, seed=3)
    assert s.nodes == s.producers == tuple(f"bp{i}" for i in range(10))
    assert s.faulty == ("bp8", "bp9")
    assert (s.tx_size_mb, s.max_block_mb, s.min_block_interval_s) == (0.005, 1.0, 0.1)
    assert (s.round_timeout_s, s.fast_path_timeout_s, s.state_period_s, s.twin_interval_s) == (10, 5, 100, 25)
    assert s.costs == MessageCosts()
    assert [r.start_s for r in s.regimes] == [100.0 * k for k in range(10)]
    assert [r.offline for r in s.regimes[:4]] == [(), ("bp8", "bp9"), (), ("bp8", "bp9")]
    assert {r.tx_rate_per_s for r in s.regimes} == {50.0}
    bandwidth = np.array([r.bandwidth_mbps for r in s.regimes])
    assert bandwidth.shape == (10, 10) and bandwidth.min() >= 0.7 and bandwidth.max() <= 2.0
    assert len({r.bandwidth_mbps for r in s.regimes}) == 10  # redrawn every TS
    prop = s.propagation_s
    assert prop.shape == (10, 10) and np.allclose(prop, prop.T) and np.all(np.diag(prop) == 0)
    off_diagonal = prop[~np.eye(10, dtype=bool)]
    assert off_diagonal.min() >= 0.005 and off_diagonal.max() <= 0.05
    assert s.regime_at(150.0) is s.regimes[1] and s.regime_at(5000.0) is s.regimes[-1]


def test_presets_are_seeded_and_named() -> None:
    assert {"paper", "steady", "faulty", "random"} <= set(SCENARIOS)
    a, b, c = (load_scenario("paper", 300.0, seed=k) for k in (1, 1, 2))
    assert a.regimes == b.regimes and a.regimes != c.regimes
    assert all(not r.offline for r in load_scenario("steady", 300.0).regimes)
    assert all(r.offline == ("bp8", "bp9") for r in load_scenario("faulty", 300.0).regimes)
    assert len(load_scenario("paper").regimes) == 10  # default schedule: 1000 s
    outages = [bool(r.offline) for r in load_scenario("random", 2000.0, seed=3).regimes]
    assert 0 < sum(outages) < len(outages) and outages != [k % 2 == 1 for k in range(20)]
    paper = load_scenario("paper", 2000.0, seed=3).regimes
    assert [r.bandwidth_mbps for r in load_scenario("random", 2000.0, seed=3).regimes] == [
        r.bandwidth_mbps for r in paper
    ]


def test_example_file_and_json_round_trip(tmp_path: Path) -> None:
    s = load_scenario(EXAMPLE, seed=4)
    assert s.producers == ("bp0", "bp1", "bp2", "bp3") and s.nodes[-1] == "observer"
    assert s.regimes[1].offline == ("bp3",) and s.regimes[2].bandwidth_mbps == (1.5,) * 5
    data = {"nodes": ["a", "b", "c", "d"], "regimes": [
        {"start_s": 0, "bandwidth_mbps": [1, 2, 1, 2], "tx_rate_per_s": 5},
        {"start_s": 50, "offline": ["d"], "bandwidth_mbps": 1, "tx_rate_per_s": 10, "jitter_s": 0.2}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    s = load_scenario(path, seed=1)
    assert s.producers == s.nodes and s.faulty == () and s.round_timeout_s == 10.0
    assert s.regime_at(60.0).offline == ("d",)


def test_with_revalidates() -> None:
    s = uniform_scenario(4)
    assert s.with_(round_timeout_s=20.0).round_timeout_s == 20.0
    with pytest.raises(DtoptError, match="round_timeout_s"):
        s.with_(round_timeout_s=-1.0)


def test_config_fields_from_a_file_and_the_scenario_reads_its_config() -> None:
    s = scenario_from_dict({**_base(), "protocol": "bigfoot", "votes_carry_block": True,
                            "bandwidth_model": "slower", "round_timeout_s": 12.0})
    config = s.config
    assert (config.protocol, config.votes_carry_block, config.bandwidth_model) == ("BigFoot", True, "slower")
    assert s.round_timeout_s == config.round_timeout_s == 12.0 and s.producers == config.validators
    # a frozen value: equal when equal, replace validates and keeps what did not change
    assert config.replace(round_timeout_s=12.0) == config
    changed = config.replace(max_block_mb=0.5)
    assert changed != config and changed.propagation_s is config.propagation_s
    assert s.with_(max_block_mb=0.5).config == changed


def _base() -> dict:
    regime = {"start_s": 0, "bandwidth_mbps": 1, "tx_rate_per_s": 5}
    return {"nodes": ["a", "b", "c", "d"], "regimes": [regime]}


def _regime(**changes) -> dict:
    data = _base()
    data["regimes"][0].update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (_regime(tx_rate_per_s=-1), "tx_rate_per_s must be a finite number >= 0"),
        (_regime(bandwidth_mbps=0), "bandwidth_mbps must be a finite number > 0"),
        (_regime(bandwidth_mbps=[1, 1, 1]), "3 values for 4 nodes"),
        (_regime(jitter_s=float("nan")), "jitter_s"),
        (_regime(offline=["z"]), "not in nodes"),
        (_regime(start_s=5), "first regime must start at 0"),
        ({**_base(), "faulty": ["a", "b", "c", "d", "e"]}, "5 faulty nodes but only 4 block producers"),
        ({**_base(), "faulty": ["a", "b"]}, "exceed f = 1"),
        ({**_base(), "faulty": ["z"]}, "not block producers"),
        ({**_base(), "producers": ["a", "x"]}, "not in nodes"),
        ({**_base(), "tx_size_mb": 0}, "tx_size_mb"),
        ({**_base(), "max_block_mb": 0.001}, "smaller than one transaction"),
        ({**_base(), "fast_path_timeout_s": 10.0}, "must be below round_timeout_s"),
        ({**_base(), "propagation_s": [[0, 1], [1, 0]]}, r"shape \(4, 4\)"),
        ({**_base(), "costs": {"vote_size_mb": -0.2}}, "vote_size_mb"),
        ({**_base(), "costs": {"vote_mb": 0.2}}, "unknown field"),
        ({**_base(), "round_timout_s": 3}, "unknown field"),
        ({"nodes": ["a"]}, "missing required field"),
        ({"nodes": ["a"], "regimes": [{"start_s": 0, "bandwidth_mbps": 1}]}, "missing required field"),
        ({"nodes": ["a", "a"], "regimes": []}, "twice"),
        ({**_base(), "tx_size_mb": "big"}, "must be a number"),
        ({**_base(), "protocol": "PBFT"}, "unknown protocol"),
        ({**_base(), "bandwidth_model": "fastest"}, "bandwidth_model must be one of"),
        ({**_base(), "votes_carry_block": 1}, "votes_carry_block must be true or false"),
    ],
)
def test_bad_scenarios_raise_one_line(data: dict, match: str) -> None:
    with pytest.raises(DtoptError, match=match) as err:
        scenario_from_dict(data)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("bad.toml", "nodes = [", "malformed scenario file"),
        ("bad.json", "{nodes: 1", "malformed scenario file"),
        ("list.json", "[1, 2]", "must be a table/object"),
    ],
)
def test_malformed_files(tmp_path: Path, name: str, text: str, match: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DtoptError, match=match):
        load_scenario(path)


def test_unknown_names_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DtoptError, match="unknown scenario 'papr'"):
        load_scenario("papr")
    with pytest.raises(DtoptError, match="cannot read scenario file"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(DtoptError, match="duration_s"):
        load_scenario("paper", duration_s=0)
    with pytest.raises(DtoptError, match="unknown protocol"):
        uniform_scenario(4).rules("PBFT")


def test_regime_rejects_negative_values_directly() -> None:
    with pytest.raises(DtoptError, match="tx_rate_per_s"):
        Regime(start_s=0.0, bandwidth_mbps=(1.0,), tx_rate_per_s=-5.0)
