"""Grids as twin rows: pure converters between power-flow networks and the twin graph's rows.

Nothing here talks to Neo4j or InfluxDB; a sink stores a :class:`GridDocument`, and a
document read back from the graph builds the network.  pandapower and power-grid-model are
imported inside the functions that need them, so importing this package costs nothing.
"""

from loaders.grids.document import GridDocument, GridSourceError

__all__ = ["GridDocument", "GridSourceError"]
