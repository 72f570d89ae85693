"""GridTwin: a GraphQL digital-twin graph of an electrical grid.

This package is the ground every room stands on: settings, logging and the
in-process fan-out of live data.  The command line is ``cli/``, provisioning of
the servers ``servers/``.
"""

__version__ = "0.1.0"
