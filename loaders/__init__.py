"""Importing grids and telemetry into GridTwin through the graph and timeseries layers."""
