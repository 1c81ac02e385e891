"""The run and placement commands' configuration flags, ``--out`` files and scenario file formats."""

from __future__ import annotations

import csv
import itertools
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import dtopt.cli
from dtopt.consensus.loading import load_scenario
from dtopt.topology import load_topology

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "scenarios" / "example.toml"
PNG = b"\x89PNG\r\n\x1a\n"

# bp0 never comes online: every fourth height needs a round change to bp1.
DEAD_PROPOSER = """
nodes = ["bp0", "bp1", "bp2", "bp3"]
faulty = ["bp0"]
[[regimes]]
start_s = 0
offline = ["bp0"]
bandwidth_mbps = 2.0
tx_rate_per_s = 5.0
"""


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``dtopt ...`` through the real dispatcher: (status, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            status = dtopt.cli.main(list(argv))
        except SystemExit as exit_:  # argparse usage errors
            status = int(exit_.code)
        out, err = capsys.readouterr()
        return status, out, err

    return run


def _blocks(out: Path) -> list[dict[str, str]]:
    with (out / "blocks.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_chain_run_out_writes_results_timeline_and_figure(cli, tmp_path: Path) -> None:
    status, stdout, err = cli("chain", "run", "--duration", "150", "--json", "--out", str(tmp_path))
    assert status == 0 and "wrote" in err
    printed = json.loads(stdout)
    written = json.loads((tmp_path / "results.json").read_text())
    assert written == printed
    rows = _blocks(tmp_path)
    assert len(rows) == printed["n_blocks"] > 0
    assert sum(int(r["n_tx"]) for r in rows) == printed["n_tx_committed"]
    assert [int(r["height"]) for r in rows] == list(range(len(rows)))
    assert (tmp_path / "run.png").read_bytes().startswith(PNG)


def test_block_flag_caps_every_block(cli, tmp_path: Path) -> None:
    status, stdout, _ = cli("chain", "run", "--duration", "100", "--block-mb", "0.05", "--json",
                            "--out", str(tmp_path))
    assert status == 0 and json.loads(stdout)["configuration"]["max_block_size_mb"] == 0.05
    rows = _blocks(tmp_path)
    assert max(int(r["n_tx"]) for r in rows) == 10  # 0.05 MB of 5 KB transactions, and full
    assert {r["max_block_mb"] for r in rows} == {"0.05"}


def test_interval_flag_spaces_the_proposals(cli, tmp_path: Path) -> None:
    assert cli("chain", "run", "--duration", "100", "--interval-s", "3", "--out", str(tmp_path))[0] == 0
    proposed = np.array([float(r["proposed_s"]) for r in _blocks(tmp_path)])
    gaps = np.diff(proposed)
    assert len(gaps) > 10 and gaps.min() >= 3.0 - 1e-9 and gaps.min() < 3.5


@pytest.mark.parametrize("timeout_s", [3.0, 6.0])
def test_timeout_flag_sets_the_round_change_time(cli, tmp_path: Path, timeout_s: float) -> None:
    scenario = tmp_path / "dead.toml"
    scenario.write_text(DEAD_PROPOSER)
    out = tmp_path / str(timeout_s)
    status, _, _ = cli("chain", "run", "--scenario", str(scenario), "--duration", "120",
                       "--timeout-s", str(timeout_s), "--out", str(out))
    assert status == 0
    rows = _blocks(out)
    # A round-1 block is proposed by bp1 once round 0 (bp0's, offline) timed out after the
    # previous block: the wait is the timeout plus at most a few message delays.
    waits = [float(b["proposed_s"]) - float(a["committed_s"])
             for a, b in itertools.pairwise(rows) if b["round"] == "1"]
    assert len(waits) >= 3
    assert all(timeout_s <= w < timeout_s + 2.0 for w in waits), waits
    assert {r["round_timeout_s"] for r in rows} == {str(timeout_s)}


def test_twin_run_out_and_flags(cli, tmp_path: Path) -> None:
    status, stdout, err = cli("twin", "run", "--duration", "120", "--timeout-s", "5", "--json",
                              "--out", str(tmp_path))
    assert status == 0 and "wrote" in err
    written = json.loads((tmp_path / "results.json").read_text())
    assert written == json.loads(stdout) and len(written["decisions"]) == 4
    rows = _blocks(tmp_path)
    assert rows and rows[0]["round_timeout_s"] == "5.0"
    assert (tmp_path / "run.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (("--block-mb", "0.001"), "--block-mb: configuration space: block size 0.001 MB holds no"),
        (("--block-mb", "-1"), "--block-mb"),
        (("--interval-s", "0"), "--interval-s"),
        (("--timeout-s", "0.05"), "--timeout-s: configuration space: round timeout 0.05 s is not longer"),
        (("--timeout-s", "inf"), "--timeout-s"),
        (("--timeout-s", "nan"), "--timeout-s"),
        (("--timeout-s", "abc"), "invalid float value"),
    ],
)
@pytest.mark.parametrize("command", ["chain", "twin"])
def test_bad_configuration_flags_exit_2_with_one_line(cli, command: str, argv: tuple[str, ...],
                                                      needle: str) -> None:
    status, out, err = cli(command, "run", "--duration", "50", *argv)
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


def test_unwritable_out_exits_2_before_the_run(cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    for argv in (("chain", "run"), ("twin", "run"), ("place", "-t", "Agis", "-k", "2")):
        status, out, err = cli(*argv, "--out", str(blocker / "sub"))
        assert status == 2 and out == "" and "cannot write to output directory" in err
        assert len(err.strip().splitlines()) == 1


# --- scenario files: TOML, JSON and YAML say the same thing ---

def _toml(data: dict) -> str:
    """A minimal TOML writer for scenario dicts (scalars and lists at the top, ``[[regimes]]``)."""
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if k != "regimes"]
    for regime in data["regimes"]:
        lines += ["[[regimes]]", *(f"{k} = {json.dumps(v)}" for k, v in regime.items())]
    return "\n".join(lines) + "\n"


def _same(a, b) -> None:
    assert a.config == b.config
    assert a.regimes == b.regimes and a.faulty == b.faulty
    assert (a.state_period_s, a.twin_interval_s) == (b.state_period_s, b.twin_interval_s)


def _three_files(data: dict, where: Path) -> list[Path]:
    paths = [where / "s.toml", where / "s.json", where / "s.yaml"]
    paths[0].write_text(_toml(data))
    paths[1].write_text(json.dumps(data))
    paths[2].write_text(yaml.safe_dump(data))
    return paths


def test_example_in_three_formats_gives_one_scenario(tmp_path: Path) -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    costs = data.pop("costs")
    scenarios = [load_scenario(p, seed=3) for p in _three_files(data, tmp_path)]
    for other in scenarios[1:]:
        _same(scenarios[0], other)
    (tmp_path / "c.yml").write_text(yaml.safe_dump({**data, "costs": costs}))
    assert load_scenario(tmp_path / "c.yml").config.costs == load_scenario(EXAMPLE).config.costs


_numbers = st.floats(min_value=0.1, max_value=50.0, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def _scenario_dicts(draw) -> dict:
    n = draw(st.integers(1, 5))
    nodes = [f"n{i}" for i in range(n)]
    starts = sorted(draw(st.sets(st.integers(1, 500), max_size=3)))
    regimes = [{"start_s": float(s), "bandwidth_mbps": draw(st.one_of(_numbers, st.lists(_numbers, min_size=n,
                                                                                      max_size=n))),
                "tx_rate_per_s": draw(_numbers)} for s in [0, *starts]]
    data = {"nodes": nodes, "regimes": regimes, "max_block_mb": draw(st.sampled_from([0.5, 1.0, 2.0])),
            "round_timeout_s": draw(st.sampled_from([6.0, 10.0, 20.0]))}
    return data


@settings(max_examples=25, deadline=None)
@given(data=_scenario_dicts(), seed=st.integers(0, 1000))
def test_any_scenario_reads_the_same_in_toml_json_and_yaml(tmp_path_factory, data: dict, seed: int) -> None:
    where = tmp_path_factory.mktemp("formats")
    first, *rest = (load_scenario(p, seed=seed) for p in _three_files(data, where))
    for other in rest:
        _same(first, other)


def test_malformed_yaml_exits_2_with_one_line(cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("nodes: [a, b\n")
    status, _, err = cli("chain", "run", "--scenario", str(path))
    assert status == 2 and "malformed scenario file" in err and len(err.strip().splitlines()) == 1


# --- placement maps ---

def test_place_out_writes_map_and_geojson_with_every_node(cli, tmp_path: Path) -> None:
    status, stdout, _ = cli("place", "-t", "Agis", "-k", "3", "--json", "--out", str(tmp_path))
    assert status == 0
    result = json.loads(stdout)
    assert json.loads((tmp_path / "result.json").read_text()) == result
    assert (tmp_path / "placement.png").read_bytes().startswith(PNG)
    geo = json.loads((tmp_path / "placement.geojson").read_text())
    assert geo["type"] == "FeatureCollection"
    topology = load_topology("Agis")
    points = {f["properties"]["name"]: f for f in geo["features"] if f["geometry"] and
              f["geometry"]["type"] == "Point"}
    assert set(points) == set(topology.node_names)
    for i, name in enumerate(topology.node_names):
        assert points[name]["geometry"]["coordinates"] == pytest.approx(topology.positions[i].tolist())
        assert points[name]["properties"]["server"] == result["assignment"][name]
    servers = {n for n, f in points.items() if f["properties"]["role"] == "server"}
    assert servers == set(result["servers"])
    lines = [f for f in geo["features"] if f["properties"].get("kind") == "assignment"]
    assert len(lines) == topology.n_nodes - 3
    links = [f for f in geo["features"] if f["properties"].get("kind") == "link"]
    assert len(links) == topology.n_links


def test_place_out_shows_capacities_and_failures(cli, tmp_path: Path) -> None:
    status, _, _ = cli("place", "-t", "Agis", "-k", "3", "--capacity", "10", "--out", str(tmp_path / "cap"))
    assert status == 0
    geo = json.loads((tmp_path / "cap" / "placement.geojson").read_text())
    servers = [f["properties"] for f in geo["features"] if f["properties"].get("role") == "server"]
    assert len(servers) == 3 and all(s["capacity"] == 10 and 1 <= s["load"] <= 10 for s in servers)
    assert sum(s["load"] for s in servers) == 25
    status, _, _ = cli("place", "-t", "Agis", "-k", "3", "--failures", "single", "--out", str(tmp_path / "f"))
    assert status == 0
    geo = json.loads((tmp_path / "f" / "placement.geojson").read_text())
    servers = [f["properties"] for f in geo["features"] if f["properties"].get("role") == "server"]
    assert all(s["avg_latency_if_down_ms"] > 0 for s in servers)
    assert any(f["properties"].get("critical") for f in geo["features"])


def test_pareto_out_writes_one_map_per_k(cli, tmp_path: Path) -> None:
    status, _, _ = cli("pareto", "-t", "Agis", "-k", "2..3", "--out", str(tmp_path))
    assert status == 0
    for k in (2, 3):
        geo = json.loads((tmp_path / f"placement_k{k}.geojson").read_text())
        assert len(geo["properties"]["servers"]) == k
        assert (tmp_path / f"placement_k{k}.png").read_bytes().startswith(PNG)


def test_shipped_yaml_example_is_the_toml_example() -> None:
    _same(load_scenario(EXAMPLE, seed=5), load_scenario(EXAMPLE.with_suffix(".yaml"), seed=5))
