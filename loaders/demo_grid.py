"""The demo grid: one substation and a 20 kV feeder down to two low-voltage measurement points.

Small enough to read in GraphiQL, complete enough to try every topology query:
a breaker to open for ``outageImpact``, a transformer, a load, a PV system and
two measurement points that the telemetry simulator keeps live.
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


async def simulate_telemetry(services: Any) -> None:
    """Background job of ``gridtwin demo``: 1 Hz snapshots for the demo's measurement points."""
    from loaders import telemetry_simulator

    await telemetry_simulator.run(MEASUREMENT_POINTS, services.telemetry.ingest.ingest)
