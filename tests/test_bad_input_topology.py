"""Bad input to topology loading, from Python and from the command line: one clear line.

Library: a :class:`DtoptError` whose one-line message says what is wrong. CLI
(``dtopt place`` / ``dtopt topologies``): exit status 2, nothing on stdout, exactly
one line on stderr, no traceback. Property tests then throw random graphs and
random (often malformed) GML and GraphML text at the loader: it either loads them
with finite latencies or refuses with a DtoptError, never anything else.
"""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtopt import DtoptError, Topology, list_topologies, load_topology
from dtopt.cli import main

DATA = Path(__file__).parent / "data"


def _graph(**attributes: dict[str, object]) -> nx.Graph:
    """London-Paris-Lille with the given node attributes overriding their coordinates."""
    graph = nx.Graph(name="three")
    graph.add_node("London", Latitude=51.5, Longitude=-0.13)
    graph.add_node("Paris", Latitude=48.86, Longitude=2.35)
    graph.add_node("Lille", Latitude=50.63, Longitude=3.06)
    graph.add_edges_from([("London", "Paris"), ("Paris", "Lille")])
    for node, data in attributes.items():
        graph.nodes[node].clear()
        graph.nodes[node].update(data)
    return graph


def _linked(**link: object) -> nx.Graph:
    graph = nx.Graph()
    graph.add_edge("a", "b", **link)
    graph.add_edge("b", "c", dist=1.0)
    return graph


def _files(tmp: Path) -> dict[str, Path]:
    """Broken topology files, written fresh for each test."""
    texts = {
        "not_ascii.gml": 'graph [ node [ id 0 label "Zürich" ] ]'.encode(),
        "no_graph.gml": b'creator "nobody"\n',
        "empty.gml": b"",
        "truncated.graphml": b'<?xml version="1.0"?><graphml><graph edgedefault="undirected"><node id="a"/>',
        "notes.txt": b"graph [ ]",
        "bad_latitude.gml": b"graph [ node [ id 0 Latitude 91 Longitude 0 ] node [ id 1 Latitude 0 "
        b"Longitude 0 ] edge [ source 0 target 1 ] ]",
        "inf_length.gml": b"graph [ node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 dist INF ] ]",
        "undefined_node.gml": b"graph [ node [ id 0 ] edge [ source 0 target 7 ] ]",
    }
    for name, data in texts.items():
        (tmp / name).write_bytes(data)
    (tmp / "folder.gml").mkdir()
    return {name: tmp / name for name in [*texts, "folder.gml"]}


LIBRARY_CASES = [
    # (source, keyword arguments, part of the message)
    ("", {}, "topology name is empty"),
    ("   ", {}, "topology name is empty"),
    (12, {}, "a topology source is"),
    (None, {}, "a topology source is"),
    ("Agiss", {}, "did you mean 'Agis'"),
    (
        _graph(London={"Latitude": 95.0, "Longitude": 0.0}),
        {},
        r"latitude 95, outside \[-180, 180\] x \[-90, 90\]",
    ),
    (_graph(London={"Latitude": 0.0, "Longitude": -200.0}), {}, "longitude -200, latitude 0, outside"),
    (_graph(London={"Latitude": "north", "Longitude": 0.0}), {}, "Latitude='north', not a number"),
    (_graph(London={"Latitude": math.inf, "Longitude": 0.0}), {}, "Latitude=inf; it must be a finite number"),
    (_graph(London={"lat": math.nan, "lon": 1.0}), {}, "lat=nan; it must be a finite number"),
    (_graph(London={"pos": "here"}), {}, "pos='here', not two numbers"),
    (_graph(London={"pos": (1.0, 2.0, 3.0)}), {}, "not two numbers"),
    (_graph(London={"pos": (1035.0, 597.0)}), {}, "longitude 1035, latitude 597, outside"),
    (_linked(dist=math.inf), {}, "link length dist=inf; it must be a finite number"),
    (_linked(dist=math.nan), {}, "link length dist=nan; it must be a finite number"),
    (_linked(dist=-1.0), {}, "link length dist=-1 is negative"),
    (_linked(dist="far"), {}, "link length dist='far', not a number"),
    (_linked(dist=True), {}, "not a number"),
    (_linked(km=3.0), {"length_attribute": "fibre_km"}, "no link has the length attribute 'fibre_km'"),
    (_linked(km=3.0), {"length_attribute": ""}, "length_attribute must be a non-empty attribute name"),
    (_linked(km=3.0), {"length_attribute": 5}, "length_attribute must be"),
    (
        _linked(km=3.0),
        {"length_attribute": "km", "missing_coordinates": True},
        "length must be a finite number of km >= 0, got True",
    ),
    (_linked(dist=1.0), {"missing_coordinates": math.inf}, "a default link length must be a finite number"),
    (_linked(dist=1.0), {"missing_coordinates": -1}, "a default link length must be a finite number"),
    (_linked(dist=1.0), {"missing_coordinates": "guess"}, "missing_coordinates must be"),
    (_linked(dist=1.0), {"components": "all"}, "components must be"),
    (nx.Graph(), {}, "has no nodes"),
    (nx.empty_graph(3), {}, "has no links"),
    (nx.MultiGraph([(0, 0), (1, 1)]), {}, "has no links"),
    (_graph(London={}, Paris={}, Lille={}), {"missing_coordinates": "impute"}, "cannot impute coordinates"),
    (_graph(London={}), {}, r"1 node\(s\) without coordinates on links without a length \('London'\)"),
]


@pytest.mark.parametrize(("source", "kwargs", "message"), LIBRARY_CASES)
def test_library_refuses_with_one_line(source, kwargs, message) -> None:
    with pytest.raises(DtoptError, match=message) as info:
        load_topology(source, **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not_ascii.gml", "not ASCII"),
        ("no_graph.gml", "no `graph \\[` section"),
        ("empty.gml", "no `graph \\[` section"),
        ("truncated.graphml", "malformed GRAPHML"),
        ("notes.txt", "expected a .gml or .graphml file"),
        ("bad_latitude.gml", "latitude 91, outside"),
        ("inf_length.gml", "link length dist=inf; it must be a finite number"),
        ("undefined_node.gml", "malformed GML .edge #0 has undefined target 7"),
        ("folder.gml", "is not a file"),
        ("missing.graphml", "no such topology file"),
    ],
)
def test_bad_files_are_refused_with_one_line(tmp_path, name, message) -> None:
    path = _files(tmp_path).get(name, tmp_path / name)
    with pytest.raises(DtoptError, match=message) as info:
        load_topology(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "a topology needs a non-empty name"),
        ({"name": None}, "a topology needs a non-empty name"),
        ({"edges": np.array([[0, 5]])}, "edges must join two different nodes among 0..1"),
        ({"edges": np.array([[1, 1]])}, "edges must join two different nodes"),
        ({"edges": np.array([[0.0, 1.0]])}, "edges must be integer node-index pairs"),
        (
            {"link_length_km": np.array([np.inf])},
            r"link lengths must be finite numbers of km >= 0 \(found inf\)",
        ),
        ({"link_length_km": np.array([-2.0])}, r"\(found -2\)"),
        ({"positions": np.zeros((3, 2))}, r"positions must have shape \(2, 2\)"),
        ({"node_names": ("a", "a")}, "duplicate node names"),
        ({"node_names": ("a", "")}, "node names must be non-empty strings"),
        ({"link_length_km": ["far"]}, "link lengths must be numbers of km"),
    ],
)
def test_topology_constructor_validates(fields, message) -> None:
    clean = {
        "name": "pair",
        "source": "test",
        "node_names": ("a", "b"),
        "positions": np.full((2, 2), np.nan),
        "edges": np.array([[0, 1]]),
        "link_length_km": np.array([5.0]),
    }
    with pytest.raises(DtoptError, match=message):
        Topology(**{**clean, **fields})


@pytest.mark.parametrize("rate", [0, -200.0, math.inf, math.nan, "fast", None, True])
def test_latency_needs_a_positive_finite_rate(rate) -> None:
    topo = load_topology(_linked(dist=10.0))
    with pytest.raises(DtoptError, match="propagation rate must be a positive number of km/ms"):
        topo.latency_ms(rate)


def test_unknown_group_lists_the_groups() -> None:
    with pytest.raises(DtoptError, match=r"unknown topology group 'zoo'; choose one of: .*topozoo"):
        list_topologies("zoo")


CLI_CASES = [
    ["topologies", "--group", "zoo"],
    ["topologies", "--min-nodes", "-1"],
    ["topologies", "--min-nodes", "many"],
    ["place", "-t", "", "-k", "2"],
    ["place", "-t", "Agiss", "-k", "2"],
    ["place", "-t", "{tmp}/bad_latitude.gml", "-k", "2"],
    ["place", "-t", "{tmp}/inf_length.gml", "-k", "1"],
    ["place", "-t", "{tmp}/not_ascii.gml", "-k", "1"],
    ["place", "-t", "{tmp}/truncated.graphml", "-k", "1"],
    ["place", "-t", "{tmp}/folder.gml", "-k", "1"],
    ["place", "-t", "{tmp}/notes.txt", "-k", "1"],
    ["place", "-t", "Agis", "-k", "2", "--length-attribute", "fibre_km"],
    ["place", "-t", "Agis", "-k", "2", "--length-attribute", ""],
    ["place", "-t", "Agis", "-k", "2", "--missing-coordinates", "inf"],
    ["place", "-t", "Agis", "-k", "2", "--missing-coordinates", "-3"],
    ["place", "-t", "Agis", "-k", "2", "--missing-coordinates", "nan"],
    ["place", "-t", "Agis", "-k", "2", "--components", "some"],
    ["place", "-t", "tests/data/zoo_raw.graphml", "-k", "2"],
]


@pytest.mark.parametrize("argv", CLI_CASES)
def test_cli_exits_2_with_one_line(capsys, tmp_path, argv) -> None:
    _files(tmp_path)
    argv = [word.replace("{tmp}", str(tmp_path)) for word in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "error: " in err
    assert "Traceback" not in err


# --- properties: random graphs and random file text ------------------------------------

# Half the examples use sound values only (coordinates may still be missing, links
# parallel, looped or directed), so that loading succeeds often enough for its output
# to be checked too; the other half may put a bad value anywhere.
BAD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-1000, 1000),
    st.sampled_from(["", "x", "12.5", "nan", "-inf", None, True]),
)
DEGREES = st.floats(-80, 80)
KM = st.floats(0, 5000)


def _value(sound: st.SearchStrategy[object], broken: bool) -> st.SearchStrategy[object]:
    return st.one_of(sound, sound, BAD) if broken else sound


def _node_data(broken: bool) -> st.SearchStrategy[dict[str, object]]:
    pos = (
        st.one_of(st.tuples(DEGREES, DEGREES), st.lists(BAD, max_size=3))
        if broken
        else st.tuples(DEGREES, DEGREES)
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "Latitude": _value(DEGREES, broken),
            "Longitude": _value(DEGREES, broken),
            "pos": pos,
            "label": st.sampled_from(["", "a", "a", "b", "Paris"]),
        },
    )


def _link_data(broken: bool) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {},
        optional={"dist": _value(KM, broken), "length_km": _value(KM, broken), "fibre": _value(KM, broken)},
    )


@st.composite
def policies(draw: st.DrawFn) -> dict[str, object]:
    """Keyword arguments of load_topology: sound ones in half the examples."""
    broken = draw(st.booleans())
    missing = st.one_of(st.sampled_from(["impute", "impute", "refuse", "drop"]), KM)
    if broken:
        missing = st.one_of(missing, st.sampled_from(["guess", -1.0, math.inf, True]))
    return draw(
        st.fixed_dictionaries(
            {},
            optional={
                "missing_coordinates": missing,
                "components": st.sampled_from(["largest", "refuse"] + ["none"] * broken),
                "length_attribute": st.sampled_from([None, "dist"] + ["fibre", "nope", ""] * broken),
            },
        )
    )


POLICIES = policies()


@st.composite
def graphs(draw: st.DrawFn) -> nx.Graph:
    broken = draw(st.booleans())
    kind = draw(st.sampled_from([nx.Graph, nx.MultiGraph, nx.DiGraph, nx.MultiDiGraph]))
    graph = kind()
    n = draw(st.integers(0 if broken else 2, 7))
    for node in range(n):
        graph.add_node(node, **draw(_node_data(broken)))
    if n:
        pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
        for u, v in draw(st.lists(pairs, min_size=n // 2, max_size=12)):
            graph.add_edge(u, v, **draw(_link_data(broken)))
    return graph


def _loads_or_refuses(source: object, policies: dict[str, object]) -> None:
    try:
        topo = load_topology(source, **policies)
    except DtoptError as err:
        assert str(err) and "\n" not in str(err)
        return
    latency = topo.latency_ms()
    assert latency.shape == (topo.n_nodes, topo.n_nodes) and np.isfinite(latency).all()
    assert np.isfinite(topo.link_length_km).all() and (topo.link_length_km >= 0).all()
    assert topo.n_nodes >= 2 and len(set(topo.node_names)) == topo.n_nodes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs(), policies=POLICIES)
def test_random_graphs_load_with_finite_latencies_or_are_refused(graph, policies) -> None:
    _loads_or_refuses(graph, policies)


def _gml_value(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and math.isnan(value):
        return "NAN"
    if isinstance(value, float) and math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return str(int(value) if isinstance(value, bool) else value)


@st.composite
def gml_texts(draw: st.DrawFn) -> str:
    """GML in the Topology Zoo's style, then possibly broken by a random edit."""
    broken = draw(st.booleans())
    n = draw(st.integers(0 if broken else 2, 6))
    lines = ["graph ["]
    lines += draw(
        st.lists(st.sampled_from(["  directed 1", "  directed 0", "  multigraph 1", "  multigraph 0"]))
    )
    for node in range(n):
        data = draw(_node_data(broken))
        data.pop("pos", None)  # not a GML scalar
        fields = " ".join(f"{key} {_gml_value(value)}" for key, value in data.items() if value is not None)
        lines.append(f"  node [ id {node} {fields} ]")
    for _ in range(draw(st.integers(n // 2, 10)) if n else 0):
        # An id of n is undefined: only in broken examples.
        u, v = (draw(st.integers(0, n if broken else n - 1)) for _ in range(2))
        data = draw(_link_data(broken))
        fields = " ".join(f"{key} {_gml_value(value)}" for key, value in data.items() if value is not None)
        lines.append(f"  edge [ source {u} target {v} {fields} ]")
    lines.append("]")
    text = "\n".join(lines)
    edit = draw(st.sampled_from(["cut", "insert"])) if broken else "none"
    if edit == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif edit == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(st.characters(codec="ascii"), max_size=4)) + text[at:]
    return text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=gml_texts(), policies=POLICIES)
def test_random_gml_text_loads_or_is_refused(tmp_path, text, policies) -> None:
    path = tmp_path / "random.gml"
    path.write_text(text)
    _loads_or_refuses(path, policies)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph=graphs(), cut=st.one_of(st.none(), st.integers(0, 4000)), policies=POLICIES)
def test_random_graphml_text_loads_or_is_refused(tmp_path, graph, cut, policies) -> None:
    # GraphML as networkx writes it (attributes with a single type), possibly truncated.
    for data in [*graph.nodes.values(), *(d for *_, d in graph.edges(data=True))]:
        for key, value in list(data.items()):
            try:
                data[key] = float(value)
            except (TypeError, ValueError):
                del data[key]
    text = "\n".join(nx.generate_graphml(graph))
    path = tmp_path / "random.graphml"
    path.write_text(text if cut is None else text[:cut])
    _loads_or_refuses(path, policies)
