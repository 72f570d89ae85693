"""Reports of a twin or a subtree over a period: gathered here, rendered by ``reports``, stored, downloaded.

``generateReport`` (and the measurement point's DTDL command of the same name) reads the
measurement points' 10-minute mean voltages and active power and their per-window extremes from
InfluxDB, applies EN 50160 (reports.en50160), renders a PDF or CSV (reports.render) in a worker
thread, and stores it under the profile's state folder as ``reports/<id>.<format>``;
``GET /reports/<id>.<format>`` serves it to any caller allowed to read telemetry. Every limit
(period, points, renders at once) is checked before anything is read.
"""

from __future__ import annotations

import asyncio
import enum
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Annotated

import numpy as np
import strawberry
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from api.auth import Permission
from api.context import GraphQLInfo
from api.errors import ClientError
from api.ingest_http import refused
from api.permissions import requires
from api.telemetry import points_below, queried
from api.telemetry_bounds import TimeRange
from reports.en50160 import phase_compliance, voltage_events
from reports.render import PHASES, PointReport, Report, render_csv, render_pdf

MAX_PERIOD = timedelta(days=31)
MAX_POINTS = 50
MAX_RENDERS = 2  # reports rendered at once per API process (matplotlib holds a core each)
WINDOW = timedelta(minutes=10)  # EN 50160's aggregation interval
MAX_EVENT_WINDOWS = 10_000  # per point (the telemetry query's cap): the extremes' window grows beyond ~a week
DEFAULT_NOMINAL_VOLTAGE = 230.0
_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|csv)$")
_RENDERS = threading.BoundedSemaphore(MAX_RENDERS)
_MEDIA_TYPES = {"pdf": "application/pdf", "csv": "text/csv"}


@strawberry.enum(description="File formats of a report.")
class ReportFormat(enum.Enum):
    pdf = "pdf"
    csv = "csv"


@strawberry.type(description="EN 50160's voltage criteria for one phase of one measurement point over the period.")
class PhaseComplianceResult:
    twin_id: strawberry.ID
    phase: str
    intervals: int = strawberry.field(description="10-minute intervals with a mean value.")
    share_in_band: float = strawberry.field(description="Share of the intervals within Un +-10 % (EN 50160: >= 0.95).")
    all_within_limits: bool = strawberry.field(description="Every interval within Un +10 % / -15 %.")
    compliant: bool | None = strawberry.field(description="Both criteria hold; null when the period holds no "
                                                          "10-minute mean (no data is no verdict).")


@strawberry.type(description="A stored report: download it from url with the same bearer token.")
class GeneratedReport:
    id: str
    url: str
    format: ReportFormat
    twin_ids: list[strawberry.ID]
    bytes: int
    events: int = strawberry.field(description="Voltage dips, swells and interruptions found.")
    compliance: list[PhaseComplianceResult]


@dataclass(frozen=True)
class ReportRequest:
    twin_id: str
    span: TimeRange
    format: ReportFormat
    subtree: bool


def report_folder(state_path: Path) -> Path:
    return state_path / "reports"


async def generate(info: GraphQLInfo, request: ReportRequest) -> GeneratedReport:
    """Gather, render and store one report (the GraphQL mutation and the DTDL command both come here)."""
    if request.span.stop - request.span.start > MAX_PERIOD:
        raise ClientError(f"a report covers at most {MAX_PERIOD.days} days", "BAD_USER_INPUT",
                          [{"pointer": "/from", "message": f"from .. to spans more than {MAX_PERIOD.days} days"}])
    points = await _points(info, request)
    if not _RENDERS.acquire(blocking=False):
        raise ClientError(f"{MAX_RENDERS} reports are being rendered; try again shortly", "TOO_MANY_REQUESTS")
    try:
        series = [await _point_report(info, point, request.span) for point in points]
        report = Report(request.twin_id, request.span.start, request.span.stop, datetime.now(timezone.utc), series)
        render = render_pdf if request.format is ReportFormat.pdf else render_csv
        content = await asyncio.to_thread(render, report)
    finally:
        _RENDERS.release()
    name = f"{uuid.uuid4().hex}.{request.format.value}"
    folder = report_folder(info.context.services.settings.state_path)
    await asyncio.to_thread(_store, folder, name, content)
    return GeneratedReport(id=name.split(".")[0], url=f"/reports/{name}", format=request.format,
                           twin_ids=[strawberry.ID(p.twin_id) for p in series], bytes=len(content),
                           events=sum(len(p.events) for p in series),
                           compliance=[PhaseComplianceResult(twin_id=strawberry.ID(p.twin_id), phase=c.phase,
                                                             intervals=c.intervals, share_in_band=c.share_in_band,
                                                             all_within_limits=c.all_within_limits,
                                                             compliant=c.compliant)
                                       for p in series for c in p.compliance])


async def _points(info: GraphQLInfo, request: ReportRequest) -> list[str]:
    if await info.context.loaders.twin(request.twin_id) is None:
        raise ClientError(f"no twin {request.twin_id!r}", "NOT_FOUND")
    points = await points_below(info, request.twin_id) if request.subtree else [request.twin_id]
    if request.subtree and not points:
        raise ClientError(f"no measurement point at or below {request.twin_id!r}", "BAD_USER_INPUT")
    if len(points) > MAX_POINTS:
        raise ClientError(f"{len(points)} measurement points below {request.twin_id!r}; a report holds at most "
                          f"{MAX_POINTS}", "BAD_USER_INPUT", [{"pointer": "/twinId", "message": "too many points"}])
    return points


async def _point_report(info: GraphQLInfo, twin_id: str, span: TimeRange) -> PointReport:
    queries = info.context.services.telemetry.queries
    limit = int((span.stop - span.start) / WINDOW) + 2
    means = await queried(queries.telemetry(twin_id, "voltage", span.start, span.stop, WINDOW, "mean", limit))
    power = await queried(queries.telemetry(twin_id, "activePower", span.start, span.stop, WINDOW, "mean", limit))
    extremes_window = max(timedelta(minutes=1), (span.stop - span.start) / (MAX_EVENT_WINDOWS - 2))
    extremes = {aggregate: await queried(queries.telemetry(twin_id, "voltage", span.start, span.stop,
                                                           extremes_window, aggregate, MAX_EVENT_WINDOWS))
                for aggregate in ("min", "max")}
    nominal = await _nominal_voltage(info, twin_id)
    ends = [point.time for point in means]
    voltages = {phase: np.array([_number(p.values, phase) for p in means], dtype=float) for phase in PHASES}
    power_by_time = {p.time: _number(p.values, "total") for p in power}
    events = [event for aggregate, kinds in (("min", ("dip", "interruption")), ("max", ("swell",)))
              for phase in PHASES
              for event in voltage_events(phase, [p.time for p in extremes[aggregate]],
                                          np.array([_number(p.values, phase) for p in extremes[aggregate]], dtype=float),
                                          nominal)
              if event.kind in kinds]
    return PointReport(twin_id, nominal, ends, voltages,
                       np.array([power_by_time.get(end, np.nan) for end in ends], dtype=float),
                       [phase_compliance(phase, values, nominal) for phase, values in voltages.items()], events)


async def _nominal_voltage(info: GraphQLInfo, twin_id: str) -> float:
    twin = await info.context.loaders.twin(twin_id)
    standard = twin.properties.get("gridStandard") if twin is not None else None
    value = standard.get("nominalVoltage") if isinstance(standard, dict) else None
    return float(value) if isinstance(value, (int, float)) and value > 0 else DEFAULT_NOMINAL_VOLTAGE


def _number(values: Any, key: str) -> float:
    value = values.get(key) if isinstance(values, dict) else None
    return float(value) if isinstance(value, (int, float)) else float("nan")


def _store(folder: Path, name: str, content: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.partial"
    partial.write_bytes(content)
    partial.replace(folder / name)  # a download never sees half a file


FromArgument = Annotated[datetime | None, strawberry.argument(name="from", description="Start (default: a week "
                                                                                        "before to).")]


@strawberry.type
class ReportMutation:
    @strawberry.mutation(description="A PDF (plots: EN 50160 voltage band compliance, load duration curves, voltage "
                                     "events) or CSV report of a measurement point, or with subtree of every point "
                                     f"below a twin (at most {MAX_POINTS}), over at most {MAX_PERIOD.days} days; "
                                     "stored and downloadable from its url by callers who may read telemetry.",
                         permission_classes=[requires(Permission.read_telemetry)])
    async def generate_report(self, info: GraphQLInfo, twin_id: strawberry.ID, from_: FromArgument = None,
                              to: datetime | None = None, format: ReportFormat = ReportFormat.pdf,
                              subtree: bool = False) -> GeneratedReport:
        stop = to or datetime.now(timezone.utc)
        span = TimeRange.of(from_ or stop - timedelta(days=7), stop)
        return await generate(info, ReportRequest(str(twin_id), span, format, subtree))


async def report_endpoint(request: Request) -> Response:
    """``GET /reports/<id>.<pdf|csv>`` with a bearer token of a role that may read telemetry."""
    denied = await refused(request, Permission.read_telemetry)
    if denied is not None:
        return denied
    services = request.state.services
    name = request.path_params["name"]
    path = report_folder(services.settings.state_path) / name
    if not _NAME.match(name) or not path.is_file():
        return JSONResponse({"error": f"no report {name!r}"}, status_code=404)
    return FileResponse(path, media_type=_MEDIA_TYPES[name.rsplit(".", 1)[1]], filename=name)
