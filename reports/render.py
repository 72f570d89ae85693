"""A report as PDF (matplotlib) or CSV, from series already gathered in memory.

PDF pages: a summary (period, points, EN 50160 compliance per phase), the 10-minute mean
voltages of each point against the band (up to MAX_PLOTTED points), the load duration curves, and
the voltage events. CSV: one row per point and 10-minute window, for spreadsheets.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from reports.en50160 import BAND, LOWER_LIMIT, UPPER_LIMIT, PhaseCompliance, VoltageEvent, duration_curve

PHASES = ("phaseA", "phaseB", "phaseC")
MAX_PLOTTED = 12
MAX_EVENT_ROWS = 40


@dataclass(frozen=True)
class PointReport:
    """One measurement point's series over the report's period (10-minute windows)."""

    twin_id: str
    nominal_voltage: float
    window_ends: list[datetime]
    voltage_means: dict[str, np.ndarray]  # per phase, volts, NaN where the window has no sample
    power_means: np.ndarray  # activePower.total, watts
    compliance: list[PhaseCompliance]
    events: list[VoltageEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    subject: str
    start: datetime
    stop: datetime
    generated: datetime
    points: list[PointReport]


def render_csv(report: Report) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["twin", "window_end", *(f"voltage_{p}_V" for p in PHASES), "active_power_total_W"])
    for point in report.points:
        for index, end in enumerate(point.window_ends):
            voltages = [_cell(point.voltage_means.get(p), index) for p in PHASES]
            writer.writerow([point.twin_id, end.isoformat(), *voltages, _cell(point.power_means, index)])
    return out.getvalue().encode()


def _cell(values: np.ndarray | None, index: int) -> str:
    if values is None or index >= len(values) or np.isnan(values[index]):
        return ""
    return f"{values[index]:.6g}"


def render_pdf(report: Report) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib.backends.backend_pdf import PdfPages

    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": f"GridTwin report: {report.subject}", "Creator": "GridTwin"}) as pdf:
        for draw in (_summary_page, *(_voltage_page_of(p) for p in report.points[:MAX_PLOTTED]),
                     _duration_page, _events_page):
            figure = draw(report)
            pdf.savefig(figure)
            _close(figure)
    return buffer.getvalue()


def _figure():  # type: ignore[no-untyped-def]
    from matplotlib.figure import Figure

    return Figure(figsize=(11.69, 8.27))  # A4 landscape, no pyplot state shared between requests


def _close(figure) -> None:  # type: ignore[no-untyped-def]
    figure.clear()


def _summary_page(report: Report):  # type: ignore[no-untyped-def]
    figure = _figure()
    figure.text(0.05, 0.93, f"Supply voltage report (EN 50160): {report.subject}", fontsize=18, weight="bold")
    figure.text(0.05, 0.88, f"Period {report.start:%Y-%m-%d %H:%M} to {report.stop:%Y-%m-%d %H:%M} UTC; "
                            f"{len(report.points)} measurement point(s); generated {report.generated:%Y-%m-%d %H:%M} UTC",
                fontsize=11)
    figure.text(0.05, 0.84, f"Criteria: 95 % of 10-minute means within Un +-{BAND:.0%}, all within "
                            f"Un {UPPER_LIMIT - 1:+.0%} / {LOWER_LIMIT - 1:+.0%}.", fontsize=11)
    rows = [[point.twin_id, c.phase, str(c.intervals), f"{c.share_in_band:.1%}", "yes" if c.all_within_limits else "no",
             f"{c.lowest:.1f}", f"{c.highest:.1f}", _verdict(c)]
            for point in report.points for c in point.compliance] or [["no measurement points"] + [""] * 7]
    axes = figure.add_axes((0.05, 0.05, 0.9, 0.75))
    axes.axis("off")
    table = axes.table(cellText=rows[:30], colLabels=["point", "phase", "intervals", "in band", "within limits",
                                                      "min V", "max V", "EN 50160"], loc="upper left")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    return figure


def _verdict(compliance: PhaseCompliance) -> str:
    """What the summary says of one phase: no data is not a failed criterion."""
    if compliance.intervals == 0:
        return "no data in the period"
    return "compliant" if compliance.compliant else "NOT compliant"


def _voltage_page_of(point: PointReport):  # type: ignore[no-untyped-def]
    def draw(report: Report):  # type: ignore[no-untyped-def]
        figure = _figure()
        axes = figure.add_subplot()
        for phase in PHASES:
            if phase in point.voltage_means:
                axes.plot(point.window_ends, point.voltage_means[phase], label=phase, linewidth=1)
        nominal = point.nominal_voltage
        for level, style in ((1 + BAND, "--"), (1 - BAND, "--"), (LOWER_LIMIT, ":")):
            axes.axhline(nominal * level, color="grey", linestyle=style, linewidth=1)
        axes.set_title(f"{point.twin_id}: 10-minute mean voltage against EN 50160 (Un = {nominal:g} V)")
        axes.set_ylabel("V")
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="upper right")
        figure.autofmt_xdate()
        return figure

    return draw


def _duration_page(report: Report):  # type: ignore[no-untyped-def]
    figure = _figure()
    axes = figure.add_subplot()
    for point in report.points[:MAX_PLOTTED]:
        curve = duration_curve(point.power_means) / 1000.0
        if curve.size:
            axes.plot(np.linspace(0, 100, curve.size), curve, label=point.twin_id)
    axes.set_title("Load duration curves (10-minute mean active power)")
    axes.set_xlabel("share of the period (%)")
    axes.set_ylabel("kW")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper right")
    return figure


def _events_page(report: Report):  # type: ignore[no-untyped-def]
    figure = _figure()
    events = sorted((e for p in report.points for e in p.events), key=lambda e: e.start)
    figure.text(0.05, 0.93, f"Voltage events: {len(events)} (dips < 90 %, swells > 110 %, interruptions < 5 % of Un)",
                fontsize=14, weight="bold")
    owners = {id(e): p.twin_id for p in report.points for e in p.events}
    rows = [[owners[id(e)], e.phase, e.kind, f"{e.start:%Y-%m-%d %H:%M:%S}", f"{e.end:%Y-%m-%d %H:%M:%S}",
             f"{e.extreme:.1f} V ({e.extreme_pu:.0%})"] for e in events[:MAX_EVENT_ROWS]]
    axes = figure.add_axes((0.05, 0.05, 0.9, 0.83))
    axes.axis("off")
    if rows:
        table = axes.table(cellText=rows, colLabels=["point", "phase", "kind", "from", "to", "extreme"], loc="upper left")
        table.auto_set_font_size(False)
        table.set_fontsize(9)
    else:
        axes.text(0, 0.95, "No voltage events in the period.", fontsize=12)
    return figure
