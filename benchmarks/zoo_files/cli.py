"""How many raw Topology Zoo files load, per format and coordinate policy.

    python -m benchmarks.zoo_files DIR [--out OUT]

DIR holds the Topology Zoo's files as distributed (``*.gml`` and ``*.graphml``,
searched recursively; they are not shipped with dtopt). Every file is loaded
with the defaults (``missing_coordinates="refuse"``) and with
``missing_coordinates="impute"``; the table counts the files that load and
groups the refusals by reason. Where a network exists in both formats, the two
loads must agree (same nodes, links and total length): the last column counts
the pairs that do.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common.output import (
    BenchmarkError,
    environment,
    markdown_table,
    out_dir,
    progress,
    write_csv,
    write_json,
    write_summary,
)
from dtopt import Topology, load_topology
from dtopt.errors import DtoptError

POLICIES = ("refuse", "impute")
FORMATS = ("gml", "graphml")
COLUMNS = {
    "format": "format",
    "missing_coordinates": "missing_coordinates",
    "files": "files",
    "loaded": "loaded",
    "refused": "refused",
    "parallel_collapsed": "files with parallel links collapsed",
    "agree_across_formats": "GML = GraphML",
}


def _load(path: Path, policy: str) -> tuple[Topology | None, str]:
    try:
        return load_topology(path, missing_coordinates=policy), ""
    except DtoptError as err:
        # Group refusals by kind: the message without the file, node names and counts.
        reason = re.split(r" \(|['\";]", str(err).split(": ", 1)[-1])[0]
        return None, re.sub(r"\d+", "N", reason).strip(" ,:")


def _signature(topo: Topology) -> tuple[int, int, float]:
    return topo.n_nodes, topo.n_links, round(float(topo.link_length_km.sum()), 6)


def measure(root: Path, *, show: bool = False) -> tuple[list[dict[str, Any]], dict[str, Counter[str]]]:
    """One row per (format, policy) and the refusal reasons per (format, policy)."""
    files = {fmt: sorted(root.rglob(f"*.{fmt}")) for fmt in FORMATS}
    if not any(files.values()):
        raise BenchmarkError(f"no .gml or .graphml files under {root}")
    rows, reasons = [], {}
    bar = progress(sum(map(len, files.values())) * len(POLICIES), "zoo files", force=show)
    for policy in POLICIES:
        loaded: dict[str, dict[str, Topology]] = {}
        for fmt in FORMATS:
            why: Counter[str] = Counter()
            loaded[fmt] = {}
            for path in files[fmt]:
                topo, reason = _load(path, policy)
                bar.update()
                if topo is None:
                    why[reason] += 1
                else:
                    loaded[fmt][path.stem] = topo
            reasons[f"{fmt} {policy}"] = why
            rows.append({
                "format": fmt,
                "missing_coordinates": policy,
                "files": len(files[fmt]),
                "loaded": len(loaded[fmt]),
                "refused": len(files[fmt]) - len(loaded[fmt]),
                "parallel_collapsed": sum(
                    any("parallel" in note for note in topo.notes) for topo in loaded[fmt].values()
                ),
            })
        both = loaded["gml"].keys() & loaded["graphml"].keys()
        agree = sum(_signature(loaded["gml"][s]) == _signature(loaded["graphml"][s]) for s in both)
        for row in rows[-len(FORMATS) :]:
            row["agree_across_formats"] = f"{agree}/{len(both)}"
    bar.close()
    return rows, reasons


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.zoo_files", description=__doc__.splitlines()[0]
    )
    parser.add_argument("dir", metavar="DIR", help="folder of the Topology Zoo's .gml and .graphml files")
    parser.add_argument("--out", metavar="OUT", help="also write results.csv/json and summary.md here")
    parser.add_argument("--progress", action="store_true", help="draw the progress bar even off a terminal")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    root = Path(args.dir)
    if not root.is_dir():
        raise BenchmarkError(f"{root} is not a directory")
    out = out_dir(args.out) if args.out else None  # refused before the run, not after
    rows, reasons = measure(root, show=args.progress)
    table = markdown_table(rows, COLUMNS)
    refusals = "\n".join(
        f"- {case}: " + "; ".join(f"{count} x {why}" for why, count in counter.most_common())
        for case, counter in reasons.items()
        if counter
    )
    print(table)
    print()
    print(refusals)
    if out is not None:
        write_csv(out / "results.csv", rows, list(COLUMNS))
        write_json(out / "results.json", {
            "benchmark": "zoo_files", "environment": environment(), "parameters": vars(args),
            "rows": rows, "refusals": {case: dict(c) for case, c in reasons.items()},
        })
        sections = [("Loaded", table), ("Refused", refusals)]
        write_summary(out / "summary.md", "Raw Topology Zoo files", sections)
        print(f"wrote {out}/results.csv, results.json, summary.md", file=sys.stderr)
    return 0
