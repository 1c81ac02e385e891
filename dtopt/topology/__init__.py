"""Networks for placement: loading, link lengths and all-pairs path matrices."""

from dtopt.topology.model import DEFAULT_RATE_KM_PER_MS, Topology
from dtopt.topology.sources import TopologyInfo, list_topologies, load_topology, node_attribute

__all__ = ["DEFAULT_RATE_KM_PER_MS", "Topology", "TopologyInfo", "list_topologies", "load_topology",
           "node_attribute"]
