"""``benchmarks.pipeline``: end-to-end latency per method, strategy and k, its tables and checks."""

from __future__ import annotations

import json

import pytest

from benchmarks import pipeline
from benchmarks.common.output import run_main

ARGS = ["--networks", "Agis", "-k", "4-5", "--methods", "milp", "rands", "--strategies", "IBFT", "twin",
        "--seeds", "2", "--duration", "60", "--replicas", "8", "--serial"]


def test_tables_figure_and_check(tmp_path, capsys) -> None:
    out = tmp_path / "pipeline"
    assert pipeline.main([*ARGS, "--out", str(out), "--check"]) == 0
    captured = capsys.readouterr()
    assert "check passed: 16 runs" in captured.out and "| Agis | 4 | milp | optimal |" in captured.out
    assert "pipeline.png" in captured.err and (out / "pipeline.png").stat().st_size > 0
    payload = json.loads((out / "results.json").read_text())
    rows = payload["rows"]
    assert len(rows) == 2 * 2 * 2 * 2 and {r["strategy"] for r in rows} == {"IBFT", "twin"}
    for row in rows:
        assert row["end_to_end_s"] == pytest.approx(row["network_ms"] / 1000.0 + row["ledger_s"], abs=1e-12)
    # placements with the same servers share their runs: the run count says how many were distinct
    distinct = {(r["k"], tuple(r["servers"])) for r in rows}
    assert payload["chain_runs"] == len(distinct) * 2 * 2
    best = {(b["network"], b["strategy"]): b for b in payload["best_k"]}
    assert best["Agis", "IBFT"]["best_k_network"] == 5  # more servers: shorter network latency
    assert (out / "cells.csv").exists() and (out / "best_k.csv").exists() and (out / "summary.md").exists()


@pytest.mark.parametrize(("argv", "needle"), [
    (["-k", "3"], "k >= 4 servers"),
    (["-k", "four"], "integers or ranges"),
    (["--methods", "magic"], "unknown placement methods ['magic']"),
    (["--strategies", "Raft"], "unknown protocol 'Raft'"),
    (["--load", "0"], "--load and --tx-size must be > 0"),
])
def test_bad_input_is_one_line(argv, needle, tmp_path, capsys) -> None:
    assert run_main(pipeline.main, [*argv, "--out", str(tmp_path)], prog="benchmarks.pipeline") == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
