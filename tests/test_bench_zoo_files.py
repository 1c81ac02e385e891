"""`python -m benchmarks.zoo_files` on the test files in tests/data."""

from __future__ import annotations

from pathlib import Path

from benchmarks.zoo_files import main, measure

DATA = Path(__file__).parent / "data"


def test_counts_per_format_and_policy() -> None:
    rows, reasons = measure(DATA)
    by_case = {(row["format"], row["missing_coordinates"]): row for row in rows}
    gml_files = len(list(DATA.glob("*.gml")))
    assert by_case["gml", "refuse"]["files"] == gml_files
    # zoo_parallel.* needs imputation (Hub has no coordinates); malformed.gml never loads.
    assert by_case["gml", "impute"]["loaded"] == by_case["gml", "refuse"]["loaded"] + 1
    assert by_case["gml", "impute"]["refused"] == 1
    assert by_case["graphml", "impute"]["loaded"] == 2
    assert by_case["gml", "impute"]["agree_across_formats"] == "1/1"  # zoo_parallel
    assert reasons["gml refuse"]["N node(s) without coordinates on links without a length"] == 1


def test_cli(capsys, tmp_path) -> None:
    assert main([str(DATA), "--out", str(tmp_path)]) == 0
    assert "| gml | impute |" in capsys.readouterr().out
    assert (tmp_path / "results.csv").exists() and (tmp_path / "summary.md").exists()
