"""Topology loading, its policies, and the path matrices against networkx."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from dtopt import DtoptError, list_topologies, load_topology
from dtopt.topology.geo import great_circle_km
from tests.conftest import random_topology

DATA = Path(__file__).parent / "data"


def reference_paths(graph: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
    """Distances by networkx Dijkstra; hops as the fewest links among shortest paths.

    Hops come from a BFS restricted to the links that lie on some shortest path
    (tight links), an independent route to the same definition.
    """
    nodes = list(graph.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    n = len(nodes)
    dist, hops = np.full((n, n), np.inf), np.full((n, n), -1)
    for s in nodes:
        d = nx.single_source_dijkstra_path_length(graph, s, weight="length_km")
        for t, value in d.items():
            dist[index[s], index[t]] = value
        level, seen, frontier = 0, {s}, [s]
        while frontier:
            for v in frontier:
                hops[index[s], index[v]] = level
            nxt = []
            for u in frontier:
                for v in graph.neighbors(u):
                    tight = abs(d[u] + graph.edges[u, v]["length_km"] - d[v]) <= 1e-6
                    if tight and v not in seen:
                        seen.add(v)
                        nxt.append(v)
            frontier, level = nxt, level + 1
    return dist, hops


@pytest.mark.parametrize(
    "key", ["topozoo/Agis", "topozoo/TataNld", "sndlib/germany50", "gabriel/25/0", "Abilene"]
)
def test_path_matrices_match_networkx(key: str) -> None:
    topo = load_topology(key)
    dist, hops = reference_paths(topo.to_networkx())
    np.testing.assert_allclose(topo.distance_km, dist, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(topo.hops, hops)
    np.testing.assert_allclose(topo.latency_ms(200.0), dist / 200.0, rtol=1e-12)


@pytest.mark.parametrize("seed", range(30))
def test_hops_break_ties_towards_fewer_links(seed: int) -> None:
    topo = random_topology(seed)
    dist, hops = reference_paths(topo.to_networkx())
    np.testing.assert_allclose(topo.distance_km, dist, rtol=1e-9)
    np.testing.assert_array_equal(topo.hops, hops)


def test_hops_follow_the_shortest_path_not_the_fewest_links() -> None:
    # a-b direct is 100 km; a-c-b is 20 km: latency-shortest path has 2 hops.
    graph = nx.Graph()
    graph.add_edge("a", "b", dist=100.0)
    graph.add_edge("a", "c", dist=10.0)
    graph.add_edge("c", "b", dist=10.0)
    topo = load_topology(graph)
    i, j = topo.indices(["a", "b"])
    assert topo.distance_km[i, j] == pytest.approx(20.0)
    assert topo.hops[i, j] == 2


def test_topohub_key_bare_name_and_case() -> None:
    a = load_topology("topozoo/Agis")
    b = load_topology("Agis")
    c = load_topology("agis")
    assert a.n_nodes == b.n_nodes == c.n_nodes == 25
    assert a.n_links == 30
    np.testing.assert_array_equal(a.distance_km, b.distance_km)


def test_topohub_dist_is_used_as_link_length(agis) -> None:
    import topohub

    data = topohub.get("topozoo/Agis")
    expected = sorted(e["dist"] for e in data["edges"])
    assert sorted(agis.link_length_km.tolist()) == pytest.approx(expected)


def test_great_circle_without_length_attribute() -> None:
    graph = nx.Graph()
    graph.add_node("London", Latitude=51.5074, Longitude=-0.1278)
    graph.add_node("Paris", Latitude=48.8566, Longitude=2.3522)
    graph.add_edge("London", "Paris")
    topo = load_topology(graph)
    assert topo.link_length_km[0] == pytest.approx(343.5, abs=1.0)  # published ~343.5 km
    assert great_circle_km(0, 0, 0, 180) == pytest.approx(np.pi * 6371.0088)


def test_parallel_links_collapse_to_the_shortest() -> None:
    graph = nx.MultiGraph()
    graph.add_edge("a", "b", dist=50.0)
    graph.add_edge("a", "b", dist=20.0)
    graph.add_edge("b", "c", dist=5.0)
    graph.add_edge("c", "c", dist=1.0)  # self-loop: dropped
    topo = load_topology(graph)
    assert topo.n_links == 2
    assert topo.distance_km[tuple(topo.indices(["a", "b"]))] == pytest.approx(20.0)
    assert any("parallel" in note for note in topo.notes)


def test_raw_zoo_graphml_policies() -> None:
    path = DATA / "zoo_raw.graphml"
    with pytest.raises(DtoptError, match=r"without coordinates.*'Hub'"):
        load_topology(path)
    imputed = load_topology(path, missing_coordinates="impute")
    assert imputed.n_nodes == 6 and set(imputed.dropped_nodes) == {"Isle1", "Isle2"}
    hub = imputed.indices(["Hub"])[0]
    london, manchester = imputed.indices(["London", "Manchester"])
    # Imputed at the mean of its two located neighbours.
    np.testing.assert_allclose(
        imputed.positions[hub], (imputed.positions[london] + imputed.positions[manchester]) / 2
    )
    dropped = load_topology(path, missing_coordinates="drop")
    assert "Hub" not in dropped.node_names and "Hub" in dropped.dropped_nodes
    fixed = load_topology(path, missing_coordinates=123.0)
    assert fixed.distance_km[tuple(fixed.indices(["Hub", "London"]))] == pytest.approx(123.0)
    with pytest.raises(DtoptError, match="2 components"):
        load_topology(path, missing_coordinates="impute", components="refuse")
    assert np.isfinite(imputed.distance_km).all()


def test_gml_with_duplicate_labels() -> None:
    topo = load_topology(DATA / "zoo_dup_labels.gml")
    assert topo.n_nodes == 4
    assert len(set(topo.node_names)) == 4
    assert any(name.startswith("Lyon") for name in topo.node_names)


def test_list_topologies_counts() -> None:
    infos = {i.key: i for i in list_topologies("topozoo")}
    assert infos["topozoo/Agis"].n_nodes == 25 and infos["topozoo/Agis"].n_links == 30
    assert infos["topozoo/TataNld"].n_nodes == 143
    assert all(key.startswith("topozoo/") for key in infos)


@pytest.mark.parametrize(
    ("source", "kwargs", "message"),
    [
        ("Agiss", {}, "did you mean 'Agis'"),
        ("no/such/key", {}, "unknown topology"),
        (DATA / "malformed.gml", {}, "malformed GML"),
        (DATA / "missing.graphml", {}, "no such topology file"),
        ("Agis", {"missing_coordinates": "guess"}, "missing_coordinates must be"),
        ("Agis", {"missing_coordinates": -5.0}, "default link length"),
        ("Agis", {"components": "all"}, "components must be"),
        (12, {}, "a topology source is"),
    ],
)
def test_bad_sources(source, kwargs, message) -> None:
    with pytest.raises(DtoptError, match=message):
        load_topology(source, **kwargs)


def test_graph_without_links_and_bad_lengths() -> None:
    lonely = nx.Graph()
    lonely.add_nodes_from(["a", "b"])
    with pytest.raises(DtoptError, match="no links"):
        load_topology(lonely)
    for bad in (-1.0, float("nan"), "far"):
        graph = nx.Graph()
        graph.add_edge("a", "b", dist=bad)
        with pytest.raises(DtoptError, match="link length"):
            load_topology(graph)


@pytest.mark.parametrize("name", ["zoo_parallel.gml", "zoo_parallel.graphml"])
def test_raw_zoo_quirks_load_and_are_recorded(name: str) -> None:
    topo = load_topology(DATA / name, missing_coordinates="impute")
    assert topo.n_nodes == 6 and set(topo.dropped_nodes) == {"Isle1", "Isle2"}
    # London-Leeds twice (once reversed) and Leeds-York three times: 3 parallel links go.
    assert topo.n_links == 7
    assert "collapsed 3 parallel link(s) to the shortest" in topo.notes
    assert "dropped 1 self-loop(s)" in topo.notes
    assert any("directed" in note for note in topo.notes) == name.endswith(".graphml")
    assert np.isfinite(topo.latency_ms()).all()


def test_gml_and_graphml_of_one_network_agree() -> None:
    gml, graphml = (
        load_topology(DATA / f"zoo_parallel.{ext}", missing_coordinates=5.0) for ext in ("gml", "graphml")
    )
    assert gml.node_names == graphml.node_names
    np.testing.assert_allclose(gml.distance_km, graphml.distance_km)


def test_gml_parallel_links_keep_the_shortest_given_length() -> None:
    # Directed, `multigraph 0` in the header, a-b given as 50, 20 and (reversed) 30 km.
    topo = load_topology(DATA / "lengths_parallel.gml")
    a, b, c = topo.indices(["a", "b", "c"])
    assert topo.distance_km[a, b] == pytest.approx(20.0)
    assert topo.distance_km[a, c] == pytest.approx(25.0)
    assert "collapsed 2 parallel link(s) to the shortest" in topo.notes
    assert any("directed graph as undirected" in note for note in topo.notes)


def test_coordinate_policy_only_applies_to_the_kept_component() -> None:
    # An unlocated two-node island beside a located network: it is dropped by the
    # components policy, so neither refuse nor impute need to look at it.
    graph = nx.Graph()
    graph.add_node("London", Latitude=51.5074, Longitude=-0.1278)
    graph.add_node("Paris", Latitude=48.8566, Longitude=2.3522)
    graph.add_node("Lille", Latitude=50.63, Longitude=3.06)
    graph.add_edges_from([("London", "Paris"), ("Paris", "Lille"), ("x", "y")])
    for policy in ("refuse", "impute"):
        topo = load_topology(graph, missing_coordinates=policy)
        assert topo.n_nodes == 3 and set(topo.dropped_nodes) == {"x", "y"}
    with pytest.raises(DtoptError, match="2 components"):
        load_topology(graph, components="refuse")


def test_length_attribute_named_by_the_caller() -> None:
    graph = nx.Graph()
    graph.add_edge("a", "b", fibre_km=7.0)
    graph.add_edge("b", "c", fibre_km=3.0)
    topo = load_topology(graph, length_attribute="fibre_km")
    assert topo.distance_km[tuple(topo.indices(["a", "c"]))] == pytest.approx(10.0)
    with pytest.raises(DtoptError, match=r"no link has the length attribute 'km'.*fibre_km"):
        load_topology(graph, length_attribute="km")


def test_unlabelled_nodes_are_named_by_their_id() -> None:
    graph = nx.Graph()
    graph.add_node(0, label="")
    graph.add_node(1, label="Leeds")
    graph.add_edge(0, 1, dist=3.0)
    assert load_topology(graph).node_names == ("0", "Leeds")


def test_dropping_an_unlocated_bridge_splits_the_network() -> None:
    graph = nx.Graph()
    for name, lat, lon in [
        ("London", 51.5, -0.13),
        ("Paris", 48.86, 2.35),
        ("Berlin", 52.52, 13.4),
        ("Warsaw", 52.23, 21.01),
        ("Prague", 50.08, 14.44),
    ]:
        graph.add_node(name, Latitude=lat, Longitude=lon)
    graph.add_edges_from(
        [("London", "Paris"), ("Paris", "Hub"), ("Hub", "Berlin"), ("Berlin", "Warsaw"), ("Warsaw", "Prague")]
    )
    topo = load_topology(graph, missing_coordinates="drop")
    assert set(topo.node_names) == {"Berlin", "Warsaw", "Prague"}
    assert set(topo.dropped_nodes) == {"Hub", "London", "Paris"}
    assert any("dropped 1 node(s) without coordinates: 'Hub'" in note for note in topo.notes)
    with pytest.raises(DtoptError, match="2 components"):
        load_topology(graph, missing_coordinates="drop", components="refuse")
