"""Telemetry in InfluxDB 2.x: ingest, spool, queries."""
