"""Inference for measurement points: what each of the 16 models answers at a point, as the MLEngine reports it.

``outputs`` is the one table of which model fills which field of the MLEngine's module
predictions; ``point`` runs the models that read a point's own one-second stream (the feature
path), ``grid`` the models that read the recent history of the grid the point measures in, and
``engine`` puts both together for a batch of points.  Everything here is computation over
in-memory inputs; reading them from Neo4j and InfluxDB is the API's part (``api.inference``).
"""
