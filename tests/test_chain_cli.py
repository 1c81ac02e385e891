"""``dtopt chain run``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dtopt.cli

ONE_NODE = 'nodes = ["a"]\n[[regimes]]\nstart_s = 0\n'
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "scenarios" / "example.toml"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``dtopt chain run ...`` through the real dispatcher."""

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            status = dtopt.cli.main(["chain", "run", *argv])
        except SystemExit as exit_:  # argparse usage errors
            status = int(exit_.code)
        out, err = capsys.readouterr()
        return status, out, err

    return run


def test_json_output(cli) -> None:
    status, out, _ = cli("--scenario", "paper", "--protocol", "BigFoot", "--duration", "120", "--seed", "1",
                         "--json")
    assert status == 0
    data = json.loads(out)
    assert data["scenario"] == "paper" and data["protocol"] == "BigFoot"
    assert data["seed"] == 1 and data["duration_s"] == 120.0 and data["runtime_s"] > 0
    for key in ("mean_tx_latency_s", "mean_block_latency_s", "mean_interblock_s", "throughput_tps",
                "n_blocks", "n_tx_committed", "timed_out_rounds"):
        assert key in data
    assert data["blocks_per_protocol"]["BigFoot"] == data["n_blocks"] > 0


def test_summary_and_scenario_file(cli) -> None:
    status, out, _ = cli("--scenario", str(EXAMPLE), "--protocol", "ibft", "--duration", "60")
    assert status == 0
    assert "protocol IBFT" in out and "mean tx latency" in out and "throughput" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (("--protocol", "PBFT"), "unknown protocol"),
        (("--scenario", "nope"), "unknown scenario"),
        (("--scenario", "missing.toml"), "cannot read scenario file"),
        (("--duration", "-5"), "duration_s"),
        (("--duration", "abc"), "invalid float value"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, argv: tuple[str, ...], needle: str) -> None:
    status, out, err = cli(*argv)
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert needle in lines[-1] and lines[-1].startswith(("dtopt: error:", "dtopt chain run: error:"))
    if not needle.startswith("invalid"):
        assert len(lines) == 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (f"{ONE_NODE}bandwidth_mbps = 1\ntx_rate_per_s = -1\n", "tx_rate_per_s"),
        (f"{ONE_NODE}bandwidth_mbps = 0\ntx_rate_per_s = 1\n", "bandwidth_mbps"),
        ('nodes = ["a", "b"]\nfaulty = ["a", "b", "c"]\n[[regimes]]\nstart_s = 0\nbandwidth_mbps = 1\n'
         'tx_rate_per_s = 1\n', "faulty nodes but only 2"),
        ('nodes = ["a", "b", "c", "d"]\nfaulty = ["a", "b"]\n[[regimes]]\nstart_s = 0\nbandwidth_mbps = 1\n'
         'tx_rate_per_s = 1\n', "exceed f = 1"),
        ('nodes = ["a"]\n', "missing required field"),
        ("nodes = [\n", "malformed scenario file"),
    ],
)
def test_bad_scenario_files_exit_2(cli, tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    status, _, err = cli("--scenario", str(path), "--duration", "10")
    assert status == 2 and needle in err and len(err.strip().splitlines()) == 1
