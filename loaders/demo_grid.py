"""The demo grid: one substation and a 20 kV feeder down to two low-voltage measurement points.

Small enough to read in GraphiQL, complete enough to try every topology query:
a breaker to open for ``outageImpact``, a transformer, a load, a PV system and
two measurement points.  The points measure at two buses of a real low-voltage grid
(simbench's ``1-LV-semiurb4--0-sw``, imported beside it, :data:`POINT_BUSES`), and
:func:`stream_physics` keeps them and the imported grids live: real-time simulation runs
(``api.simulations``) whose telemetry goes through the normal ingest path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridtwin.config import Settings
from graph import db as graph_db
from graph.bulk import RelationshipRow, TwinRow, bulk_create_relationships, bulk_create_twins
from graph.models_store import ensure_builtin_models

GT = "dtmi:gridtwin:"


def _site(latitude: float, longitude: float, address: str) -> dict[str, Any]:
    return {"latitude": latitude, "longitude": longitude, "address": address}


TWINS: tuple[TwinRow, ...] = (
    TwinRow("demo-sub-riverside", f"{GT}Substation;1", {
        "name": "Riverside 110/20 kV", "status": "inService", "substationType": "distribution",
        "highestVoltage": 110.0, "lowestVoltage": 20.0, "bayCount": 8, "staffed": False,
        "installationDate": "1998-05-14", "location": _site(52.3702, 4.8952, "Riverside Rd 1")}),
    TwinRow("demo-bus-riverside-20kv", f"{GT}Busbar;1", {
        "name": "Riverside 20 kV busbar", "status": "inService", "busbarArrangement": "single",
        "ratedCurrent": 1250.0, "ratedVoltage": 20.0}),
    TwinRow("demo-brk-f1", f"{GT}Breaker;1", {
        "name": "Feeder 1 breaker", "status": "inService", "switchState": "closed", "normalState": "closed",
        "ratedCurrent": 630.0, "breakingCapacity": 25.0, "interruptingMedium": "vacuum"}),
    TwinRow("demo-line-f1", f"{GT}Line;1", {
        "name": "Feeder 1 cable", "status": "inService", "lineType": "cable", "length": 3.2,
        "conductor": "NA2XS2Y 3x1x240", "ampacity": 420.0, "resistancePerKm": 0.125, "reactancePerKm": 0.11}),
    TwinRow("demo-tr-f1-parkstraat", f"{GT}PowerTransformer;1", {
        "name": "Parkstraat 20/0.4 kV", "status": "inService", "ratedPower": 630.0, "primaryVoltage": 20.0,
        "secondaryVoltage": 0.4, "vectorGroup": "Dyn11", "impedance": 4.0, "coolingType": "ONAN",
        "tapPosition": 0, "tapMin": -2, "tapMax": 2, "installationDate": "2011-09-01",
        "location": _site(52.3655, 4.9011, "Parkstraat 12")}),
    TwinRow("demo-mp-parkstraat-a", f"{GT}GridMeasurementPoint;1", {
        "name": "Parkstraat LV feeder A", "isSimulation": True,
        "gridStandard": {"nominalVoltage": 230.0, "nominalFrequency": 50.0, "phases": 3},
        "location": _site(52.3651, 4.9020, "Parkstraat 14")}),
    TwinRow("demo-mp-parkstraat-b", f"{GT}GridMeasurementPoint;1", {
        "name": "Parkstraat LV feeder B", "isSimulation": True,
        "gridStandard": {"nominalVoltage": 230.0, "nominalFrequency": 50.0, "phases": 3},
        "location": _site(52.3660, 4.9031, "Parkstraat 30")}),
    TwinRow("demo-load-parkstraat", f"{GT}Load;1", {
        "name": "Parkstraat households", "status": "inService", "loadClass": "residential",
        "contractedPower": 400.0, "peakDemand": 310.0, "customerCount": 142}),
    TwinRow("demo-pv-school", f"{GT}PVSystem;1", {
        "name": "School rooftop PV", "status": "inService", "ratedPower": 99.0, "peakPower": 110.0,
        "moduleCount": 270, "tilt": 15.0, "azimuth": 180.0, "commissioningDate": "2019-04-02"}),
)

RELATIONSHIPS: tuple[RelationshipRow, ...] = (
    RelationshipRow("demo-sub-riverside", "feedsTo", "demo-bus-riverside-20kv", id="demo-r1"),
    RelationshipRow("demo-bus-riverside-20kv", "feedsTo", "demo-brk-f1", id="demo-r2"),
    RelationshipRow("demo-brk-f1", "feedsTo", "demo-line-f1", id="demo-r3"),
    RelationshipRow("demo-line-f1", "feedsTo", "demo-tr-f1-parkstraat", id="demo-r4"),
    RelationshipRow("demo-tr-f1-parkstraat", "feedsTo", "demo-mp-parkstraat-a", id="demo-r5"),
    RelationshipRow("demo-tr-f1-parkstraat", "feedsTo", "demo-mp-parkstraat-b", id="demo-r6"),
    RelationshipRow("demo-mp-parkstraat-a", "feedsTo", "demo-load-parkstraat", id="demo-r7"),
    RelationshipRow("demo-pv-school", "connectedTo", "demo-mp-parkstraat-b", id="demo-r8"),
    RelationshipRow("demo-tr-f1-parkstraat", "monitoredBy", "demo-mp-parkstraat-a", id="demo-r9"),
    RelationshipRow("demo-sub-riverside", "contains", "demo-bus-riverside-20kv", id="demo-r10"),
    RelationshipRow("demo-sub-riverside", "contains", "demo-brk-f1", id="demo-r11"),
)

MEASUREMENT_POINTS: tuple[str, ...] = tuple(t.id for t in TWINS if t.model.endswith("GridMeasurementPoint;1"))


@dataclass(frozen=True)
class DemoSummary:
    twins: int
    relationships: int

    def __str__(self) -> str:
        return f"{self.twins} twins, {self.relationships} relationships"


def load(settings: Settings) -> DemoSummary:
    """Store the models and (re)write the demo twins and relationships; safe to run again."""
    with graph_db.open_driver(settings) as driver:
        models = ensure_builtin_models(driver)
        twins = bulk_create_twins(driver, models, TWINS, merge=True)
        driver.execute_query("MATCH (:Twin)-[r]->(:Twin) WHERE r.id STARTS WITH 'demo-r' DELETE r")
        relationships = bulk_create_relationships(driver, models, RELATIONSHIPS)
    return DemoSummary(twins=twins.written, relationships=relationships.written)


#: The low-voltage grid the demo's measurement points measure in, and the bus each point is connected to:
#: point A at the households' bus (the largest load), point B at the bus with the grid's PV.
LV_GRID = "1-LV-semiurb4--0-sw"
POINT_BUSES = {"demo-mp-parkstraat-a": f"{LV_GRID}/bus/40", "demo-mp-parkstraat-b": f"{LV_GRID}/bus/32"}
#: One demo run: 15 minutes of 1-second steps in real time, then the next one starts.
RUN_STEPS = 900


def attach_points(settings: Settings) -> int:
    """Connect the demo's measurement points to their buses of the LV grid (after that grid is imported)."""
    rows = [RelationshipRow(point, "connectedTo", bus, id=f"demo-r-{point}-bus") for point, bus in POINT_BUSES.items()]
    with graph_db.open_driver(settings) as driver:
        models = ensure_builtin_models(driver)
        driver.execute_query("MATCH (:Twin)-[r]->(:Twin) WHERE r.id IN $ids DELETE r", ids=[r.id for r in rows])
        return bulk_create_relationships(driver, models, rows).written


#: How often the demo's points are inferred from their live stream.
INFERENCE_INTERVAL_S = 5.0


async def infer_continuously(services: Any) -> None:
    """Background job of ``gridtwin demo``: the measurement points' predictions every few seconds."""
    await services.predictions.start_watch(MEASUREMENT_POINTS, INFERENCE_INTERVAL_S,
                                           ("monitoring", "maintenance", "energy", "decision"))


async def stream_physics(services: Any, grids: tuple[str, ...]) -> None:
    """Background job of ``gridtwin demo``: back-to-back real-time runs (1 Hz) on each grid, until cancelled."""
    import asyncio

    await asyncio.gather(*(_keep_live(services, grid_id) for grid_id in grids))


async def _keep_live(services: Any, grid_id: str) -> None:
    import asyncio
    import logging
    from datetime import datetime, timezone

    from loaders.simulation.run import SimulationRequest

    log = logging.getLogger(__name__)
    runner = services.simulations
    for seed in range(2**31):
        start = datetime.now(timezone.utc).replace(microsecond=0)
        request = SimulationRequest(grid_id, start=start, steps=RUN_STEPS, step_seconds=1.0, seed=seed)
        try:
            run_id = await runner.start(request, speed=1.0, started_by="demo")
        except Exception:  # a grid the demo cannot run (deleted meanwhile): say so and try again later
            log.exception("demo simulation of %s could not start", grid_id)
            await asyncio.sleep(60)
            continue
        task = runner.runs[run_id].task
        if task is not None:
            await asyncio.shield(task)  # cancelling the demo job leaves the run to the runner's own close
