"""Figures of the placement benchmark (Figs. 2-4 of Wu et al., 2024, runtime against n, a server map).

Each figure is drawn only when the rows hold what it needs (e.g. several k values
for the curves against k); :func:`draw_all` returns the files it wrote.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common.output import new_figure, save_figure
from benchmarks.placement.pins import FIG3_NETWORKS

__all__ = ["draw_all"]

Rows = Sequence[dict[str, Any]]
MARKERS = "osD^v<>px*h"


def _eps_label(eps: float | None) -> str:
    return "unconstrained" if eps is None else f"eps_max = {eps:g}"


def _style(methods: Sequence[str]) -> dict[str, dict[str, Any]]:
    import matplotlib as mpl

    colours = mpl.colormaps["tab10"].colors
    return {m: {"color": colours[i % 10], "marker": MARKERS[i % len(MARKERS)]} for i, m in enumerate(methods)}


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def draw_all(rows: Rows, out: Path) -> list[Path]:
    """Every figure the rows support, written as PNG into ``out``."""
    rows = [r for r in rows if r["avg_latency_ms"] is not None or r["runtime_s"] is not None]
    if not rows:
        return []
    style = _style(list(dict.fromkeys(r["method"] for r in rows)))
    focus = _focus_network(rows)
    files: list[Path] = []
    if focus is not None:
        mine = [r for r in rows if r["source"] == focus]
        eps = mine[0]["eps_max"]
        files.append(_vs_k(mine, eps, style, out))
        files.append(_error_vs_k(mine, style, out))
        files.append(_map(mine, out))
    fig3 = _fig3_networks(rows)
    if fig3:
        files.append(_across_networks(rows, fig3, style, out))
    if len({r["n"] for r in rows}) > 1:
        files.append(_runtime_vs_n(rows, style, out))
    return files


def _focus_network(rows: Rows) -> str | None:
    """Agis if it was run with several k, else the first network that was."""
    ks: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        ks[r["source"]].add(r["k"])
    several = [s for s, k in ks.items() if len(k) > 1]
    return "topozoo/Agis" if "topozoo/Agis" in several else (several[0] if several else None)


def _curves(rows: Rows, key: str) -> dict[str, tuple[list[int], list[float]]]:
    out: dict[str, tuple[list[int], list[float]]] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        pts = sorted((r["k"], r[key]) for r in rows if r["method"] == method and r[key] is not None)
        if pts:
            out[method] = ([k for k, _ in pts], [v for _, v in pts])
    return out


def _vs_k(rows: Rows, eps: float | None, style: dict[str, dict[str, Any]], out: Path) -> Path:
    rows = [r for r in rows if r["eps_max"] == eps]
    fig, (ax_lat, ax_time) = new_figure(2)
    for method, (ks, values) in _curves(rows, "avg_latency_ms").items():
        ax_lat.plot(ks, values, label=method, **style[method])
    for method, (ks, values) in _curves(rows, "runtime_s").items():
        ax_time.plot(ks, values, label=method, **style[method])
    name = rows[0]["network"]
    ax_lat.set(
        xlabel="number of DT servers k", ylabel="average latency (ms)", title=f"{name}, {_eps_label(eps)}"
    )
    ax_time.set(xlabel="number of DT servers k", ylabel="runtime (s)", yscale="log", title="running time")
    for ax in (ax_lat, ax_time):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    ax_lat.legend(fontsize=8)
    return save_figure(fig, out / f"fig2_{_slug(name)}_latency_runtime_vs_k.png")


def _error_vs_k(rows: Rows, style: dict[str, dict[str, Any]], out: Path) -> Path:
    eps_values = list(dict.fromkeys(r["eps_max"] for r in rows))
    fig, axes = new_figure(len(eps_values))
    axes = np.atleast_1d(axes)
    for ax, eps in zip(axes, eps_values, strict=True):
        for method, (ks, values) in _curves([r for r in rows if r["eps_max"] == eps], "avg_error").items():
            ax.plot(ks, values, label=method, **style[method])
        if eps is not None:
            ax.axhline(eps, color="grey", linestyle="--", linewidth=1, label="eps_max")
        ax.set(xlabel="number of DT servers k", ylabel="average DT error", title=_eps_label(eps))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{rows[0]['network']}: average twin error")
    return save_figure(fig, out / f"fig4_{_slug(rows[0]['network'])}_error_vs_k.png")


def _fig3_networks(rows: Rows) -> list[str]:
    """The seed's three networks if all ran at k = 4, else every network at k = 4 when 2 to 6 did."""
    at4 = list(dict.fromkeys(r["source"] for r in rows if r["k"] == 4))
    if all(n in at4 for n in FIG3_NETWORKS):
        return list(FIG3_NETWORKS)
    return at4 if 2 <= len(at4) <= 6 else []


def _across_networks(rows: Rows, networks: list[str], style: dict[str, dict[str, Any]], out: Path) -> Path:
    eps = next(r["eps_max"] for r in rows if r["k"] == 4)
    sel = [r for r in rows if r["k"] == 4 and r["eps_max"] == eps and r["source"] in networks]
    methods = list(dict.fromkeys(r["method"] for r in sel))
    by = {(r["source"], r["method"]): r for r in sel}
    labels = [
        f"{next(r['network'] for r in sel if r['source'] == s)}\n(n={by_n})"
        for s, by_n in ((s, next(r["n"] for r in sel if r["source"] == s)) for s in networks)
    ]
    x = np.arange(len(networks))
    width = 0.8 / max(len(methods), 1)
    fig, (ax_lat, ax_time) = new_figure(2)
    for i, method in enumerate(methods):
        for ax, key in ((ax_lat, "avg_latency_ms"), (ax_time, "runtime_s")):
            values = [by.get((s, method), {}).get(key) for s in networks]
            ax.bar(
                x + (i - (len(methods) - 1) / 2) * width,
                [np.nan if v is None else v for v in values],
                width,
                label=method,
                color=style[method]["color"],
            )
    ax_lat.set(ylabel="average latency (ms)", title=f"k = 4, {_eps_label(eps)}")
    ax_time.set(ylabel="runtime (s)", yscale="log", title="running time")
    for ax in (ax_lat, ax_time):
        ax.set_xticks(x, labels)
        ax.grid(alpha=0.3, axis="y")
    ax_lat.legend(fontsize=8)
    return save_figure(fig, out / "fig3_networks_k4_latency_runtime.png")


def _runtime_vs_n(rows: Rows, style: dict[str, dict[str, Any]], out: Path) -> Path:
    fig, ax = new_figure(1, width_in=6.5, height_in=4.2)
    for method in dict.fromkeys(r["method"] for r in rows):
        pts = [(r["n"], r["runtime_s"]) for r in rows if r["method"] == method and r["runtime_s"] is not None]
        if not pts:
            continue
        ns, ts = np.array(pts).T
        ax.scatter(ns, ts, s=6, alpha=0.25, color=style[method]["color"])
        medians: dict[float, list[float]] = defaultdict(list)
        for n, t in pts:
            medians[n].append(t)
        xs = sorted(medians)
        ax.plot(
            xs,
            [statistics.median(medians[n]) for n in xs],
            label=f"{method} (median over k, eps_max)",
            color=style[method]["color"],
            linewidth=1.2,
        )
    ax.set(xlabel="nodes n", ylabel="runtime (s)", yscale="log", title="runtime against network size")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return save_figure(fig, out / "runtime_vs_n.png")


def _map(rows: Rows, out: Path) -> Path:
    """Servers of the best exact placement at k = 4 (else the largest k), one panel per eps_max."""
    from benchmarks.placement.cases import _topology

    topology = _topology(rows[0]["source"])
    k = 4 if any(r["k"] == 4 for r in rows) else max(r["k"] for r in rows)
    eps_values = list(dict.fromkeys(r["eps_max"] for r in rows))
    fig, axes = new_figure(len(eps_values), width_in=5.0, height_in=4.4)
    axes = np.atleast_1d(axes)
    pos = topology.positions
    index = {name: i for i, name in enumerate(topology.node_names)}
    for ax, eps in zip(axes, eps_values, strict=True):
        found = [r for r in rows if r["k"] == k and r["eps_max"] == eps and r["servers"]]
        for u, v in topology.edges:
            ax.plot(pos[[u, v], 0], pos[[u, v], 1], color="0.75", linewidth=0.8, zorder=1)
        ax.scatter(pos[:, 0], pos[:, 1], s=14, color="0.35", zorder=2)
        title = f"k = {k}, {_eps_label(eps)}"
        if found:
            best = min(found, key=lambda r: (not r["exact"], r["avg_latency_ms"]))
            servers = [index[s] for s in best["servers"]]
            ax.scatter(
                pos[servers, 0],
                pos[servers, 1],
                s=120,
                marker="*",
                color="crimson",
                zorder=3,
                label=f"servers ({best['method']})",
            )
            title += f"\n{best['avg_latency_ms']:.3g} ms mean latency"
            ax.legend(fontsize=7, loc="best")
        ax.set(xlabel="longitude", ylabel="latitude", title=title)
        ax.set_aspect("equal", adjustable="datalim")
    fig.suptitle(f"{topology.name}: chosen DT servers")
    return save_figure(fig, out / f"map_{_slug(topology.name)}_k{k}.png")
