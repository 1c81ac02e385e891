"""Reading GML and GraphML files as people download them (raw Topology Zoo included).

The Topology Zoo's GML files with parallel links carry no ``multigraph 1``
header, and networkx refuses a duplicated link in a simple graph. Every GML file
is therefore read as a multigraph; :func:`dtopt.load_topology` collapses the
parallel links afterwards and records it in ``Topology.notes``.
"""

from __future__ import annotations

import re
from pathlib import Path

import networkx as nx

from dtopt.errors import DtoptError

__all__ = ["FILE_SUFFIXES", "read_graph_file"]

FILE_SUFFIXES = (".gml", ".graphml", ".xml")

# The first `graph [` that is neither inside a quoted string nor in a comment.
_GML_TOKENS = re.compile(r'"[^"]*"|#[^\n]*|(\bgraph\s*\[)')


def read_graph_file(path: Path) -> nx.Graph:
    """The graph in a ``.gml``, ``.graphml`` or ``.xml`` file, parallel links kept.

    Raises :class:`DtoptError` (one line) for a missing, unreadable or malformed file.
    """
    if not path.exists():
        raise DtoptError(f"no such topology file: {path}")
    if not path.is_file():
        raise DtoptError(f"{path} is not a file (expected a .gml or .graphml file)")
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise DtoptError(f"cannot read {path}: expected a .gml or .graphml file")
    try:
        if suffix == ".gml":
            return _parse_gml(path.read_bytes())
        return nx.read_graphml(path)
    except OSError as err:
        raise DtoptError(f"cannot read {path}: {err.strerror or err}") from None
    except DtoptError as err:
        raise DtoptError(f"cannot read {path}: {err}") from None
    except Exception as err:  # networkx and the XML parser raise many types for malformed files
        text = str(err).strip()
        first_line = text.splitlines()[0] if text else type(err).__name__
        raise DtoptError(f"cannot read {path}: malformed {suffix[1:].upper()} ({first_line})") from None


def _parse_gml(data: bytes) -> nx.Graph:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise DtoptError("malformed GML (not ASCII; GML escapes other characters as &#...;)") from None
    header = next((m for m in _GML_TOKENS.finditer(text) if m.group(1)), None)
    if header is None:
        raise DtoptError("malformed GML (no `graph [` section)")
    # A repeated key becomes a list, which networkx takes as true: any `multigraph 0`
    # already in the header cannot undo this one.
    text = f"{text[: header.end()]}\n  multigraph 1\n{text[header.end() :]}"
    # Topology Zoo labels are not always unique: key nodes by id.
    return nx.parse_gml(text, label="id")
