"""Every strategy of ``benchmarks.consensus`` against the two static references.

* :func:`strategy_table`: per strategy its mean latency, throughput and number of
  configuration changes put in force, and its latency as a paired per-seed ratio
  to ``Best static`` (hindsight) and to ``Tuned offline`` (mean over seeds and the
  worst seed), where those ran;
* :func:`latency_figure`: ``latency_over_time.png``, the mean latency of the
  transactions committed in each bin of chain time on seed 1, for the
  configuration twin against both statics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._consensus_config import BEST_STATIC, CONFIG_TWIN
from benchmarks._output import markdown_table, new_figure, save_figure
from benchmarks._static_sweep import TUNED_OFFLINE

__all__ = ["REFERENCES", "latency_figure", "strategy_table"]

REFERENCES = (BEST_STATIC, TUNED_OFFLINE)


def _per_seed(rows: list[dict[str, Any]], strategy: str, key: str) -> dict[int, float]:
    return {r["seed"]: r[key] for r in rows if r["strategy"] == strategy}


def strategy_table(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """The rows of the table and its Markdown, from results rows of comparable seeds."""
    references = [ref for ref in REFERENCES if any(r["strategy"] == ref for r in rows)]
    out = []
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        latency = _per_seed(rows, strategy, "mean_tx_latency_s")
        row: dict[str, Any] = {
            "strategy": strategy,
            "seeds": len(latency),
            "latency_s": float(np.mean(list(latency.values()))),
            "throughput_tps": float(np.mean(list(_per_seed(rows, strategy, "throughput_tps").values()))),
            "config_changes": float(np.mean(list(_per_seed(rows, strategy, "config_changes").values()))),
        }
        for ref in references:
            theirs = _per_seed(rows, ref, "mean_tx_latency_s")
            ratio = np.array([latency[s] / theirs[s] for s in latency if s in theirs])
            row[f"vs {ref} mean"] = float(ratio.mean()) if ratio.size else None
            row[f"vs {ref} worst"] = float(ratio.max()) if ratio.size else None
        out.append(row)
    columns = {"strategy": "strategy", "seeds": "seeds", "latency_s": "latency (s)",
               "throughput_tps": "throughput (tx/s)", "config_changes": "changes in force"}
    for ref in references:
        columns[f"vs {ref} mean"] = f"latency / {ref}, mean"
        columns[f"vs {ref} worst"] = "worst seed"
    return out, markdown_table(out, columns)


def latency_figure(config: dict[str, Any], scenario: str, out: Path) -> list[str]:
    """Write ``latency_over_time.png`` from one seed's ``run_config`` result; its name
    (none without the configuration twin's series)."""
    series = config.get("latency_series", {})
    if CONFIG_TWIN not in series:
        return []
    bin_s = series["bin_s"]
    fig, ax = new_figure(width_in=7.0, height_in=3.2)
    for strategy in (CONFIG_TWIN, *REFERENCES):
        if strategy not in series:
            continue
        values = series[strategy]
        label = strategy if strategy == CONFIG_TWIN else f"{strategy} ({config[_LABEL_KEYS[strategy]]})"
        ax.stairs([np.nan if v is None else v for v in values], bin_s * np.arange(len(values) + 1),
                  lw=1.2, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("chain time (s)")
    ax.set_ylabel(f"mean latency per {bin_s:g} s (s)")
    ax.set_title(f"{scenario}, seed 1: latency of the transactions committed in each {bin_s:g} s",
                 fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, out / "latency_over_time.png")
    return ["latency_over_time.png"]


_LABEL_KEYS = {BEST_STATIC: "best_static", TUNED_OFFLINE: "tuned_offline"}
