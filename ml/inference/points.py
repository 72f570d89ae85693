"""Which measurement points to infer, as the twin graph says: the grid each measures in and its nominal values.

One Cypher read for the API's inference and for datasets of stored runs: a point's grid is the
``gridId`` of the bus it is ``connectedTo``; its nominal phase-to-neutral voltage and frequency are
its ``gridStandard``, else the bus's nominal voltage / sqrt(3), else 230 V and 50 Hz.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ml.inference.outputs import NotAPoint, PointInput

MEASUREMENT_POINT = "dtmi:gridtwin:GridMeasurementPoint;1"

POINTS = """
UNWIND $ids AS id
MATCH (p:Twin {id: id})
OPTIONAL MATCH (p)-[:CONNECTED_TO]->(b:Twin) WHERE b.gridId IS NOT NULL
WITH p, head(collect(b)) AS bus
RETURN p.id AS id, p.model AS model, p.`gridStandard.nominalVoltage` AS nominal_v,
       p.`gridStandard.nominalFrequency` AS nominal_hz, bus.gridId AS grid, bus.nominalVoltage AS bus_kv
"""


def point_inputs(driver: Any, models: Any, twin_ids: Sequence[str]) -> list[PointInput]:
    """The points' grids and nominal values, in the order asked; NotAPoint names the first that is none."""
    records, _, _ = driver.execute_query(POINTS, ids=list(twin_ids))
    found = {r["id"]: r for r in records}
    inputs = []
    for twin_id in twin_ids:
        record = found.get(twin_id)
        if record is None:
            raise NotAPoint(twin_id, "is not a twin")
        if not models.is_a(record["model"], MEASUREMENT_POINT):
            raise NotAPoint(twin_id, f"is a {record['model']}, not a GridMeasurementPoint (it has no mlEngine)")
        nominal_v = record["nominal_v"] or (record["bus_kv"] * 1000.0 / 3 ** 0.5 if record["bus_kv"] else 230.0)
        inputs.append(PointInput(twin_id, record["grid"], float(nominal_v), float(record["nominal_hz"] or 50.0)))
    return inputs
