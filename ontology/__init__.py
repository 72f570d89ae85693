"""GridTwin ontology views of the DTDL models: JSON-LD/RDF, OWL/RDFS and the Neo4j schema.

Depends only on :mod:`dtdl` (never on api/, graph/, timeseries/ or ml/), so every layer can use it.
"""
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[1] / "dtdl" / "models"
"""GridTwin's own DTDL model set (one Interface per file)."""
