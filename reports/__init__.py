"""Reports of measured telemetry: EN 50160 voltage compliance, load duration curves, voltage events.

Pure computation and rendering over in-memory series (no Neo4j, no InfluxDB): the API gathers the
series (api/reports.py) and stores what :mod:`reports.render` makes.
"""
