"""The consensus benchmark's results: the seeds on which every strategy can be
compared, the summary per strategy, each twin's outcome against the static
protocols and the clairvoyant bound, and the box plots per metric."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from benchmarks.common.output import new_figure, save_figure
from benchmarks.consensus.runs import PROTOCOLS, TWINS

__all__ = ["METRICS", "_boxplots", "_paired", "_summary_rows", "comparable", "outcome_lines", "strategies_of"]

METRICS = {
    "mean_tx_latency_s": "latency (s)",
    "mean_interblock_s": "inter-block time (s)",
    "throughput_tps": "throughput (tx/s)",
}


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the seeds on which every strategy has every metric (committed
    transactions): strategies are compared on the same seeds only."""
    empty = {r["seed"] for r in rows if any(r[key] is None for key in METRICS)}
    return [r for r in rows if r["seed"] not in empty]


def strategies_of(rows: list[dict[str, Any]]) -> list[str]:
    """The strategies of ``rows``, in the order they first appear."""
    return list(dict.fromkeys(r["strategy"] for r in rows))


def _summary_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for strategy in strategies_of(rows):
        mine = [r for r in rows if r["strategy"] == strategy]
        row: dict[str, Any] = {"strategy": strategy, "seeds": len(mine)}
        for key in METRICS:
            values = [r[key] for r in mine]
            row[f"{key}_mean"] = statistics.fmean(values)
            row[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append(row)
    return out


def _boxplots(rows: list[dict[str, Any]], out: Any) -> list[str]:
    names = []
    for key, label in METRICS.items():
        fig, ax = new_figure(width_in=6.5)
        strategies = strategies_of(rows)
        data = [[r[key] for r in rows if r["strategy"] == s] for s in strategies]
        ax.boxplot(data, tick_labels=strategies)
        ax.set_ylabel(label)
        ax.set_title(f"{label} per strategy ({len(data[0])} seeds)")
        for label in ax.get_xticklabels():  # long strategy names: slanted, anchored at their tick
            label.set_rotation(25)
            label.set_horizontalalignment("right")
        name = {"mean_tx_latency_s": "latency", "mean_interblock_s": "interblock"}.get(key, "throughput")
        save_figure(fig, out / f"{name}.png")
        names.append(f"{name}.png")
    return names


def outcome_lines(rows: list[dict[str, Any]], summary: list[dict[str, Any]], seeds: int) -> list[str]:
    """Each twin against the static protocols and the clairvoyant bound."""
    means = {r["strategy"]: r for r in summary}

    def per_seed(strategy: str, key: str) -> list[float]:
        return [r[key] for r in sorted(rows, key=lambda r: r["seed"]) if r["strategy"] == strategy]

    lines = []
    clair = per_seed("Clairvoyant", "mean_tx_latency_s")
    clair_mean = means["Clairvoyant"]["mean_tx_latency_s_mean"]
    for twin in TWINS:
        lat, thr = means[twin]["mean_tx_latency_s_mean"], means[twin]["throughput_tps_mean"]
        better_lat = all(lat < means[p]["mean_tx_latency_s_mean"] for p in PROTOCOLS)
        better_thr = all(thr > means[p]["throughput_tps_mean"] for p in PROTOCOLS)
        ratios = np.array(per_seed(twin, "mean_tx_latency_s")) / np.array(clair)
        wins = {
            key: sum(
                all(
                    (d < o) if key != "throughput_tps" else (d > o)
                    for o in (per_seed(p, key)[i] for p in PROTOCOLS)
                )
                for i, d in enumerate(per_seed(twin, key))
            )
            for key in ("mean_tx_latency_s", "throughput_tps")
        }
        paired = "; ".join(
            f"{label} - {p} {_paired(per_seed(twin, key), per_seed(p, key))}"
            for key, label in (("mean_tx_latency_s", "latency"), ("throughput_tps", "throughput"))
            for p in PROTOCOLS
        )
        lines.append(
            f"{twin}: mean latency {lat:.2f} s ({'' if better_lat else 'NOT '}lower than both static), "
            f"mean throughput {thr:.3f} tx/s ({'' if better_thr else 'NOT '}higher than both static); "
            f"latency / Clairvoyant: mean of means {lat / clair_mean:.3f}, "
            f"per seed median {np.median(ratios):.3f} (range {ratios.min():.3f}-{ratios.max():.3f}); "
            f"beats both static per seed: latency {wins['mean_tx_latency_s']}/{seeds}, "
            f"throughput {wins['throughput_tps']}/{seeds}; paired per-seed differences, mean +- "
            f"standard error: {paired}"
        )
    return lines


def _paired(mine: list[float], other: list[float]) -> str:
    """Mean and standard error of the per-seed differences ``mine - other``."""
    diff = np.subtract(mine, other)
    se = f"{diff.std(ddof=1) / np.sqrt(diff.size):.3f}" if diff.size > 1 else "n/a"
    return f"{diff.mean():+.3f} +- {se}"
