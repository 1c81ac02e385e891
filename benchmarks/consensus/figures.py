"""Figures of the configuration strategies (``benchmarks.consensus --space``), seed 1.

* ``config_timeline.png``: the configuration in force, block by block (protocol,
  maximum block size, minimum block interval, round timeout; read from the
  blocks), against the regimes (shaded where validators are offline);
* ``config_pareto.png``: per regime, the predicted latency/throughput Pareto
  fronts of the configuration twin's decisions taken in it, the chosen
  configuration of each marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.common.output import new_figure, save_figure

__all__ = ["config_figures"]

PANELS = (
    ("protocol", "protocol"),
    ("max_block_mb", "max block (MB)"),
    ("min_block_interval_s", "min interval (s)"),
    ("round_timeout_s", "round timeout (s)"),
)


def config_figures(config: dict[str, Any], scenario: str, out: Path) -> list[str]:
    """Write both figures from one seed's ``run_config`` result; their file names."""
    return [_timeline(config, scenario, out), _pareto(config, scenario, out)]


def _regime_spans(config: dict[str, Any], end_s: float) -> list[tuple[float, float, int]]:
    regimes = config["regimes"]
    ends = [r["start_s"] for r in regimes[1:]] + [end_s]
    return [(r["start_s"], e, len(r["offline"])) for r, e in zip(regimes, ends, strict=True)]


def _timeline(config: dict[str, Any], scenario: str, out: Path) -> str:
    blocks = config["timeline"]
    end_s = max([b["t_s"] for b in blocks] + [d["t_s"] for d in config["decisions"]] + [1.0])
    fig, axes = new_figure(len(PANELS), width_in=3.4, height_in=3.0)
    t = [b["t_s"] for b in blocks]
    for ax, (key, label) in zip(axes, PANELS, strict=True):
        for start, stop, offline in _regime_spans(config, end_s):
            if offline:
                ax.axvspan(start, stop, color="tab:red", alpha=0.12, lw=0)
        values = [b[key] for b in blocks]
        if key == "protocol":
            names = sorted(set(values))
            values = [names.index(v) for v in values]
            ax.set_yticks(range(len(names)), names)
        ax.step(t, values, where="post", lw=1.2)
        ax.set_xlabel("chain time (s)")
        ax.set_ylabel(label)
    axes[0].set_title(f"Config twin, {scenario}, seed 1 (red: validators offline)", loc="left", fontsize=9)
    save_figure(fig, out / "config_timeline.png")
    return "config_timeline.png"


def _pareto(config: dict[str, Any], scenario: str, out: Path) -> str:
    decisions = [d for d in config["decisions"] if d["pareto"]]
    end_s = max([d["t_s"] for d in decisions] + [1.0])
    spans = _regime_spans(config, end_s + 1.0)
    fig, axes = new_figure(min(len(spans), 4), width_in=3.4, height_in=3.0)
    axes = list(axes) if len(spans) > 1 else [axes]
    for k, ax in enumerate(axes):  # the first regimes (every one repeats the same kinds)
        start, stop, offline = spans[k]
        mine = [d for d in decisions if start < d["t_s"] <= stop]
        for d in mine:
            front = d["pareto"]
            ax.plot([e["mean_throughput_tps"] for e in front], [e["mean_latency_s"] for e in front],
                    marker=".", lw=0.8, alpha=0.7, label=f"t={d['t_s']:g} s")
            chosen = d["chosen_estimate"]
            ax.plot(chosen["mean_throughput_tps"], chosen["mean_latency_s"], "k*", ms=8)
        ax.set_title(f"regime {k}: {offline} offline", fontsize=9)
        ax.set_xlabel("predicted throughput (tx/s)")
        ax.set_ylabel(f"predicted {mine[0]['criterion'] if mine else 'wait'} (s)")
        if mine:
            ax.legend(fontsize=6)
    axes[0].set_title(f"{scenario}, seed 1, regime 0: {spans[0][2]} offline (*: chosen)", fontsize=9)
    save_figure(fig, out / "config_pareto.png")
    return "config_pareto.png"
