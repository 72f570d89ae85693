"""Machine learning over the twin graph and its telemetry (features, models, GNN, registry).

Not built yet: see docs/ARCHITECTURE.md, "Where ML runs (planned)".
"""
