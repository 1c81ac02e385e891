"""``benchmarks.consensus``: the seeds give the same rows serially and on the dask back end."""

from __future__ import annotations

import json

from benchmarks import consensus

ARGS = ["--scenario", "paper", "--seeds", "2", "--duration", "60", "--replicas", "8"]


def test_serial_and_dask_give_the_same_rows(tmp_path, capsys) -> None:
    rows = {}
    for way, extra in (("serial", ["--serial"]), ("dask", ["--workers", "2"])):
        out = tmp_path / way
        assert consensus.main([*ARGS, *extra, "--out", str(out)]) == 0
        err = capsys.readouterr().err
        assert f"to {out}/" in err and "results.csv" in err
        payload = json.loads((out / "results.json").read_text())
        assert payload["execution"] == ("serial" if way == "serial" else
                                         "local dask cluster, 2 single-threaded worker processes")
        rows[way] = payload["rows"]
        assert (out / "latency.png").exists() and (out / "summary.md").exists()
    assert rows["serial"] == rows["dask"]
    assert {r["seed"] for r in rows["serial"]} == {1, 2}
    assert len(rows["serial"]) == 2 * len(consensus.STRATEGIES)
