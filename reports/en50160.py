"""EN 50160's supply-voltage criteria, applied to measured 10-minute mean RMS voltages.

Why these numbers: EN 50160 (LV and MV public networks) asks that, over each week, 95 % of the
10-minute mean RMS values of the supply voltage lie within Un +-10 %, and all of them within
Un +10 % / -15 %. A voltage *dip* starts when the RMS voltage falls below 90 % of Un, a *swell*
above 110 %, an *interruption* below 5 %; each lasts until the voltage is back in the band. The
standard judges a week; a report over a shorter period applies the same shares to what it holds
and says how many intervals that is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

BAND = 0.10  # +-10 % of Un for 95 % of the 10-minute means
REQUIRED_SHARE = 0.95
LOWER_LIMIT, UPPER_LIMIT = 0.85, 1.10  # every 10-minute mean within these
DIP, SWELL, INTERRUPTION = 0.90, 1.10, 0.05


@dataclass(frozen=True)
class PhaseCompliance:
    """How one phase's 10-minute means compare with the EN 50160 band."""

    phase: str
    intervals: int
    share_in_band: float  # of the intervals, within Un +-10 %
    all_within_limits: bool  # every interval within Un +10 % / -15 %
    lowest: float
    highest: float

    @property
    def compliant(self) -> bool | None:
        """Both criteria hold; None without a single 10-minute mean (no data is no verdict either way)."""
        if self.intervals == 0:
            return None
        return self.share_in_band >= REQUIRED_SHARE and self.all_within_limits


@dataclass(frozen=True)
class VoltageEvent:
    """A dip, swell or interruption of one phase: from its first to its last sample out of the band."""

    phase: str
    kind: str  # dip, swell or interruption
    start: datetime
    end: datetime
    extreme: float  # the lowest (dip, interruption) or highest (swell) voltage, in volts
    extreme_pu: float


def phase_compliance(phase: str, means: np.ndarray, nominal: float) -> PhaseCompliance:
    """EN 50160's two voltage criteria for one phase's 10-minute means (NaN: no value in that interval)."""
    values = means[~np.isnan(means)] / nominal
    if values.size == 0:
        return PhaseCompliance(phase, 0, 0.0, False, float("nan"), float("nan"))
    in_band = np.abs(values - 1.0) <= BAND + 1e-12
    within = bool(np.all((values >= LOWER_LIMIT - 1e-12) & (values <= UPPER_LIMIT + 1e-12)))
    return PhaseCompliance(phase, int(values.size), float(in_band.mean()), within,
                           float(values.min() * nominal), float(values.max() * nominal))


def voltage_events(phase: str, times: list[datetime], volts: np.ndarray, nominal: float) -> list[VoltageEvent]:
    """Dips, swells and interruptions in one phase's samples, each a run of samples out of the band."""
    per_unit = volts / nominal
    kinds = np.where(per_unit < INTERRUPTION, 3, np.where(per_unit < DIP, 1, np.where(per_unit > SWELL, 2, 0)))
    kinds[np.isnan(per_unit)] = 0
    events: list[VoltageEvent] = []
    index = 0
    while index < len(kinds):
        if kinds[index] == 0:
            index += 1
            continue
        swell = kinds[index] == 2
        end = index
        while end + 1 < len(kinds) and kinds[end + 1] != 0 and (kinds[end + 1] == 2) == swell:
            end += 1
        run = per_unit[index:end + 1]
        extreme = float(run.max() if swell else run.min())
        kind = "swell" if swell else ("interruption" if extreme < INTERRUPTION else "dip")
        events.append(VoltageEvent(phase, kind, times[index], times[end], extreme * nominal, extreme))
        index = end + 1
    return events


def duration_curve(values: np.ndarray) -> np.ndarray:
    """The values sorted from the highest down: the share of time a load reaches at least each value."""
    finite = values[~np.isnan(values)]
    return np.sort(finite)[::-1]
