"""The measurement point's feature path: one computation for the live stream and for batches from InfluxDB.

``signals`` names the point telemetry it reads (flattened ``voltage.phaseA`` ...), ``catalogue``
the ~80 features by group, ``compute`` the vectorised computation over windows of one-second
samples, and ``windows`` the per-twin ring buffers the live stream fills and the regular grids a
stored history is cut into.  Both paths end in :func:`ml.features.compute.point_features`.
"""
