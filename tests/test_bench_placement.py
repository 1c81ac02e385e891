"""The placement benchmark harness: same results serially and on dask, --check, bad input."""

from __future__ import annotations

import csv
import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

import dtopt
from benchmarks import placement
from benchmarks.common import output
from benchmarks.common.output import BenchmarkError
from benchmarks.common.sweep import run_cases
from benchmarks.placement import pins

ROOT = Path(__file__).resolve().parents[1]

ONE_RUN = placement.Settings(repeat_budget_s=0.0)


def _row(method: str, obj: float | None, *, exact: bool, status: str = "optimal", k: int = 2, **extra):
    return {
        "network": "Toy",
        "source": "toy",
        "n": 10,
        "k": k,
        "eps_max": None,
        "method": method,
        "exact": exact,
        "status": status,
        "avg_latency_ms": obj,
        "bound_ms": obj if exact and status == "optimal" else None,
        "runtime_s": 0.1,
        "servers": ["a", "b"] if obj is not None else [],
        "reason": None,
        **extra,
    }


# --- the same sweep serially and on a local dask cluster ------------------------------


def test_serial_and_dask_sweeps_agree():
    cases = placement.build_cases(["Eenet"], [1, 3], [0.05, None], ["eopa", "milp", "interchange", "rands"])
    cases.append(placement.Case("Eenet", 2, None, placement.SPOPT))
    run = functools.partial(placement.run_case, settings=ONE_RUN)
    serial = run_cases(run, cases, serial=True)
    parallel = run_cases(run, cases, n_workers=2)
    keys = ("network", "k", "eps_max", "method", "status", "avg_latency_ms", "avg_error", "servers")
    assert [{k: r[k] for k in keys} for r in serial] == [{k: r[k] for k in keys} for r in parallel]
    assert all(r["status"] in ("optimal", "feasible") for r in serial)
    assert [(r["k"], r["eps_max"], r["method"]) for r in serial] == [
        (c.k, c.eps_max, c.method) for c in cases
    ]


# --- the --check logic ------------------------------------------------------------------


def test_check_accepts_a_consistent_table():
    rows = [
        _row("eopa", 2.0, exact=True),
        _row("milp", 2.0 * (1 + 1e-12), exact=True),
        _row("rands", 2.5, exact=False, status="feasible"),
    ]
    assert placement.check_rows(rows) == []


def test_check_flags_disagreeing_exact_methods():
    rows = [_row("eopa", 2.0, exact=True), _row("milp", 2.0001, exact=True)]
    problems = placement.check_rows(rows)
    assert len(problems) == 1 and "exact methods disagree" in problems[0] and "milp" in problems[0]


def test_check_flags_a_heuristic_better_than_the_optimum():
    rows = [_row("milp", 2.0, exact=True), _row("isapa", 1.9, exact=False, status="feasible")]
    assert any("better than the optimum" in p and "isapa" in p for p in placement.check_rows(rows))


def test_check_flags_feasibility_disagreement_and_errors():
    rows = [
        _row("milp", 2.0, exact=True),
        _row("eopa", None, exact=True, status="infeasible"),
        _row("kmpa", None, exact=False, status="error", reason="boom"),
    ]
    problems = placement.check_rows(rows)
    assert any("proved the instance infeasible" in p for p in problems)
    assert any("kmpa failed: boom" in p for p in problems)


def test_unproven_exact_answers_are_not_compared():
    rows = [_row("milp", 2.0, exact=True), _row("eopa", 2.5, exact=True, status="time_limit")]
    assert placement.check_rows(rows) == []


def test_gaps_wins_and_summary():
    rows = placement.add_gaps(
        [
            _row("eopa", 2.0, exact=True, runtime_s=0.5),
            _row("milp", 2.0, exact=True, runtime_s=0.2),
            _row("rands", 2.5, exact=False, status="feasible", runtime_s=0.01),
            _row("kmpa", None, exact=False, status="infeasible"),
        ]
    )
    by = {r["method"]: r for r in rows}
    assert by["rands"]["gap"] == pytest.approx(0.25) and by["milp"]["gap"] == 0.0
    assert by["milp"]["best"] and not by["rands"]["best"]
    summary = {s["method"]: s for s in placement.summarise(rows)}
    assert summary["milp"]["wins"] == 1 and summary["eopa"]["wins"] == 0
    assert summary["rands"]["worst_gap"] == pytest.approx(0.25)
    assert summary["kmpa"]["missed"] == 1


# --- cases ------------------------------------------------------------------------------


def test_eopa_above_its_limit_is_skipped_not_fatal():
    row = placement.run_case(
        placement.Case("Eenet", 3, None, "eopa"), placement.Settings(eopa_max_placements=10)
    )
    assert row["status"] == "skipped" and "C(12, 3) = 220" in row["reason"]


def test_spopt_matches_milp_and_repeats_are_counted():
    milp = placement.run_case(placement.Case("Eenet", 2, None, "milp"), ONE_RUN)
    spopt = placement.run_case(placement.Case("Eenet", 2, None, "spopt"), placement.Settings(max_repeats=2))
    assert spopt["avg_latency_ms"] == pytest.approx(milp["avg_latency_ms"], rel=1e-9)
    assert milp["repeats"] == 1 and 1 <= spopt["repeats"] <= 2


def test_build_cases_spopt_only_unconstrained_and_k_clipping():
    cases = placement.build_cases(["Eenet"], [1, 2], [0.05, None], ["milp"])
    assert [(c.k, c.eps_max, c.method) for c in cases] == [
        (1, 0.05, "milp"),
        (1, None, "milp"),
        (1, None, "spopt"),
        (2, 0.05, "milp"),
        (2, None, "milp"),
        (2, None, "spopt"),
    ]
    assert {c.k for c in placement.build_cases(["Eenet"], [11, 12, 13], [None], ["milp"], clip_k=True)} == {
        11,
        12,
    }
    with pytest.raises(BenchmarkError, match=r"outside 1\.\.12"):
        placement.build_cases(["Eenet"], [13], [None], ["milp"])


@pytest.mark.parametrize(("text", "expected"), [("1..5", [1, 2, 3, 4, 5]), ("5,1,3", [1, 3, 5]), ("4", [4])])
def test_parse_k(text, expected):
    assert placement.parse_k(text) == expected


@pytest.mark.parametrize("text", ["0..3", "5..2", "a", "1,x"])
def test_parse_k_rejects(text):
    with pytest.raises(BenchmarkError):
        placement.parse_k(text)


def test_parse_eps_max():
    assert placement.parse_eps_max("none") is None and placement.parse_eps_max("0.05") == 0.05
    for bad in ("-1", "nan", "inf", "x"):
        with pytest.raises(BenchmarkError):
            placement.parse_eps_max(bad)


# --- the command line -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--suite", "nosuch"], "unknown suite 'nosuch'"),
        (["--topology", "NoSuchNet"], "unknown topology 'NoSuchNet'"),
        (["--topology", "Eenet", "--k", "0..3"], "k must be at least 1"),
        (["--topology", "Eenet", "--k", "10..13"], "outside 1..12"),
        (["--topology", "Eenet", "--methods", "foo"], "unknown method 'foo'"),
        (
            ["--topology", "Eenet", "--k", "1", "--scheduler", "tcp://127.0.0.1:9"],
            "cannot reach dask scheduler",
        ),
    ],
)
def test_bad_input_is_one_line_and_status_2(argv, message, capsys):
    assert output.run_main(placement.main, argv, prog="benchmarks.placement") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("benchmarks.placement: error:")


def test_cli_bad_input_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.placement", "--suite", "nosuch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "benchmarks.placement: error: unknown suite 'nosuch'; choose one of: topozoo, gabriel"
    ]


def test_quick_check_run_writes_the_output_layout(tmp_path, capsys):
    argv = ["--topology", "Eenet", "--k", "1..4", "--quick", "--check", "--out", str(tmp_path)]
    assert placement.main(argv) == 0
    out = capsys.readouterr().out
    assert "| Eenet | 12 | 4 | none | milp |" in out and "check passed" in out
    with (tmp_path / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    methods = set(dtopt.available_methods()) | {"spopt"}
    assert {r["method"] for r in rows} == methods
    assert len(rows) == 4 * (2 * len(methods) - 1)
    payload = json.loads((tmp_path / "results.json").read_text())
    assert len(payload["rows"]) == len(rows) and payload["check_problems"] == []
    assert "## Per method" in (tmp_path / "summary.md").read_text()
    pngs = {p.name for p in tmp_path.glob("*.png")}
    assert {"fig2_Eenet_latency_runtime_vs_k.png", "fig4_Eenet_error_vs_k.png", "map_Eenet_k4.png"} <= pngs


# --- shared output helpers and pins -----------------------------------------------------


def test_markdown_table_formats_and_escapes():
    table = output.markdown_table([{"a": 1.23456789, "b": "x|y", "c": None}], {"a": "A", "b": "B", "c": "C"})
    assert table.splitlines() == ["| A | B | C |", "|---:|---|---:|", "| 1.235 | x\\|y |  |"]


def test_write_csv_round_trips_floats(tmp_path):
    path = output.write_csv(tmp_path / "r.csv", [{"x": 0.1 + 0.2, "s": ["a", "b"]}], ["x", "s"])
    row = next(csv.DictReader(path.open()))
    assert float(row["x"]) == 0.1 + 0.2 and row["s"] == "a;b"


def test_pins_match_installed_data_and_a_changed_pin_warns(tmp_path, monkeypatch):
    assert pins.check_pins(pins.PINNED_KEYS) == []
    pinned = json.loads(pins.PIN_FILE.read_text())
    pinned["topologies"]["topozoo/Agis"]["sha256"] = "0" * 64
    fake = tmp_path / "pinned.json"
    fake.write_text(json.dumps(pinned))
    monkeypatch.setattr(pins, "PIN_FILE", fake)
    warnings = pins.check_pins(["topozoo/Agis", "topozoo/Eenet", "topozoo/Abilene"])
    assert len(warnings) == 1 and "topozoo/Agis differs" in warnings[0]
