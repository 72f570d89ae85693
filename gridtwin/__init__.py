"""GridTwin: a GraphQL digital-twin graph of an electrical grid.

This package holds what every layer shares: configuration, logging, the
command line and the provisioning of the Neo4j and InfluxDB servers.
"""

__version__ = "0.1.0"
