"""Reports: EN 50160 criteria on known series, and a PDF whose pages render with their content."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from reports.en50160 import duration_curve, phase_compliance, voltage_events
from reports.render import PHASES, PointReport, Report, render_csv, render_pdf

START = datetime(2026, 11, 23, tzinfo=timezone.utc)
WEEK = 7 * 24 * 6  # 10-minute intervals


def test_the_95_percent_criterion_counts_intervals_in_the_band() -> None:
    means = np.full(WEEK, 230.0)
    means[:50] = 205.0  # 50 of 1008 below 0.9 Un (207 V): 95.04 % in band, and above 0.85 Un
    passing = phase_compliance("phaseA", means, 230.0)
    assert passing.intervals == WEEK and passing.share_in_band == pytest.approx(958 / 1008)
    assert passing.all_within_limits and passing.compliant
    means[:60] = 205.0  # 94.05 %: fails the 95 % rule
    assert not phase_compliance("phaseA", means, 230.0).compliant
    means[:60] = 230.0
    means[0] = 190.0  # one interval below 0.85 Un (195.5 V) fails the "all within" rule alone
    failing = phase_compliance("phaseA", means, 230.0)
    assert failing.share_in_band > 0.99 and not failing.all_within_limits and not failing.compliant
    assert failing.lowest == 190.0


def test_no_values_is_not_compliance() -> None:
    nothing = phase_compliance("phaseB", np.full(10, np.nan), 230.0)
    assert nothing.intervals == 0 and nothing.compliant is None  # no verdict, neither way


def test_events_are_runs_out_of_the_band_with_their_extreme() -> None:
    times = [START + timedelta(minutes=m) for m in range(12)]
    volts = np.array([230, 200, 150, 205, 230, 260, 258, 230, 5, 0, 230, np.nan], dtype=float)
    events = voltage_events("phaseA", times, volts, 230.0)
    assert [(e.kind, e.start, e.end, e.extreme) for e in events] == [
        ("dip", times[1], times[3], 150.0), ("swell", times[5], times[6], 260.0),
        ("interruption", times[8], times[9], 0.0)]


def test_duration_curve_sorts_down_and_drops_gaps() -> None:
    assert duration_curve(np.array([1.0, np.nan, 3.0, 2.0])).tolist() == [3.0, 2.0, 1.0]


def _report() -> Report:
    ends = [START + timedelta(minutes=10 * (k + 1)) for k in range(144)]
    wave = 230 + 8 * np.sin(np.linspace(0, 6.28, 144))
    voltages = {phase: wave + shift for phase, shift in zip(PHASES, (0.0, -2.0, 2.0))}
    compliance = [phase_compliance(phase, values, 230.0) for phase, values in voltages.items()]
    dips = voltage_events("phaseA", ends, np.where(np.arange(144) == 70, 180.0, wave), 230.0)
    point = PointReport("mp-report", 230.0, ends, voltages, 20_000 + 5_000 * np.cos(np.linspace(0, 6.28, 144)),
                        compliance, dips)
    return Report("mp-report", START, ends[-1], START + timedelta(days=2), [point])


def test_the_pdf_has_its_pages_and_they_render_with_content() -> None:
    import pymupdf  # a PDF renderer independent of matplotlib
    document = pymupdf.open(stream=render_pdf(_report()), filetype="pdf")
    assert document.page_count == 4  # summary, the point's voltages, duration curves, events
    texts = [page.get_text() for page in document]
    assert "EN 50160" in texts[0] and "mp-report" in texts[0] and "compliant" in texts[0]
    assert "Load duration" in texts[2] and "dip" in texts[3] and "Voltage events: 1" in texts[3]
    for page in document:
        pixels = np.frombuffer(page.get_pixmap(dpi=40).samples, dtype=np.uint8)
        assert (pixels < 200).mean() > 0.002, f"page {page.number} renders blank"


def test_the_csv_holds_one_row_per_point_and_window() -> None:
    lines = render_csv(_report()).decode().splitlines()
    assert lines[0] == "twin,window_end,voltage_phaseA_V,voltage_phaseB_V,voltage_phaseC_V,active_power_total_W"
    assert len(lines) == 1 + 144 and lines[1].startswith("mp-report,2026-11-23T00:10:00+00:00,230,228,232,25000")


def test_a_point_without_data_is_reported_as_such_not_as_failing() -> None:
    import pymupdf

    ends: list = []
    empty = PointReport("mp-silent", 230.0, ends, {p: np.array([]) for p in PHASES}, np.array([]),
                        [phase_compliance(p, np.array([]), 230.0) for p in PHASES])
    document = pymupdf.open(stream=render_pdf(Report("mp-silent", START, START, START, [empty])), filetype="pdf")
    summary = document[0].get_text()
    assert "no data in the period" in summary and "NOT compliant" not in summary
