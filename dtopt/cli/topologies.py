"""``dtopt topologies``: the networks available through topohub."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from dtopt.topology import list_topologies


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "topologies",
        help="list the available networks with node and link counts",
        description="List the networks topohub ships (the Internet Topology Zoo, SNDlib, synthetic "
        "Gabriel graphs...) with their node and link counts. Any key listed, a bare Topology Zoo name "
        "or the path of a GML/GraphML file works as `dtopt place --topology`.",
    )
    parser.add_argument("--group", help="only one group: topozoo, sndlib, gabriel, backbone, caida")
    parser.add_argument(
        "--min-nodes", type=_count, default=0, help="only networks with at least this many nodes"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.set_defaults(func=run)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    infos = [i for i in list_topologies(args.group) if i.n_nodes >= args.min_nodes]
    if args.json:
        print(json.dumps([asdict(i) for i in infos]))
        return 0
    width = max((len(i.key) for i in infos), default=3)
    print(f"{'key':<{width}}  {'nodes':>5}  {'links':>5}")
    for info in infos:
        print(f"{info.key:<{width}}  {info.n_nodes:>5}  {info.n_links:>5}")
    print(f"{len(infos)} networks; a bare Topology Zoo name (e.g. Agis) also works as --topology")
    return 0
