"""Limits of the telemetry queries and subscriptions, checked from their arguments before any Flux or Cypher runs.

* **Times** (``from``, ``to``, ``after``): InfluxDB keeps a point's time as signed 64-bit
  nanoseconds since 1970, so only 1677-09-21T00:12:43.145224192Z .. 2262-04-11T23:47:16.854775807Z
  exist there. A later or earlier date used to reach InfluxDB and come back as "Unexpected error.";
  it is a BAD_USER_INPUT naming the argument. A time without a zone is UTC.
* **Points per answer** (``telemetry``): ``first`` (default :data:`DEFAULT_POINTS`, at most
  :data:`MAX_POINTS`). The limit is part of the Flux query (``timeseries.queries``), so neither
  InfluxDB nor the API builds an answer larger than one page.
* **Pages**: keyset pagination on time. ``after`` is the ``time`` of the last point of the previous
  page and the next page starts strictly after it. Keyset rather than an offset because telemetry
  keeps arriving while a client pages: an offset shifts when points are written before it (pages
  repeat or skip points) and costs InfluxDB a scan of everything skipped, while "after this time"
  names the same place however much is written, and InfluxDB starts reading right there.
* **Windows** (``telemetryBelow``): at most :data:`MAX_WINDOWS` windows of ``everySeconds`` in
  ``from``..``to``; each window is one aggregate over every point below a twin.
* **Twins per subscription**: at most :data:`MAX_TWINS_PER_SUBSCRIPTION` twin ids (given, or
  resolved below a twin), so one subscription cannot grow the broker's fan-out index without bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from api.errors import ClientError
from timeseries.queries import DEFAULT_POINTS, MAX_POINTS

__all__ = ["DEFAULT_POINTS", "MAX_POINTS", "MAX_TWINS_PER_SUBSCRIPTION", "MAX_WINDOWS", "TimeRange",
           "checked_first", "checked_time", "checked_twin_count", "window_length", "windows_of"]

MAX_WINDOWS = 10_000
MAX_TWINS_PER_SUBSCRIPTION = 10_000
DEFAULT_SPAN = timedelta(hours=1)
EARLIEST = datetime(1677, 9, 21, 0, 12, 43, 145225, tzinfo=timezone.utc)  # first whole microsecond
LATEST = datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=timezone.utc)


def _bad(argument: str, message: str) -> ClientError:
    return ClientError(f"{argument}: {message}", "BAD_USER_INPUT", [{"pointer": f"/{argument}", "message": message}])


def checked_time(value: datetime, argument: str) -> datetime:
    """``value`` as an aware UTC datetime InfluxDB can hold, or a BAD_USER_INPUT naming ``argument``."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if not EARLIEST <= aware <= LATEST:
        raise _bad(argument, f"{value.isoformat()} is outside the times telemetry can hold "
                             f"({EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d} UTC)")
    return aware.astimezone(timezone.utc)


@dataclass(frozen=True)
class TimeRange:
    """``[start, stop)`` of a telemetry query, both aware UTC datetimes InfluxDB can hold."""

    start: datetime
    stop: datetime

    @classmethod
    def of(cls, start: datetime | None, stop: datetime | None) -> TimeRange:
        """From the ``from``/``to`` arguments: ``to`` defaults to now and ``from`` to an hour before ``to``."""
        checked_stop = checked_time(stop, "to") if stop is not None else datetime.now(timezone.utc)
        checked_start = checked_time(start, "from") if start is not None else checked_stop - DEFAULT_SPAN
        if checked_start >= checked_stop:
            raise _bad("from", f"{checked_start.isoformat()} is not before to ({checked_stop.isoformat()})")
        return cls(checked_start, checked_stop)

    def resumed_after(self, after: datetime | None, windowed: bool) -> TimeRange | None:
        """The range left after the cursor ``after``, or None when nothing is left to read.

        Raw points: strictly after ``after``, at the microsecond the API reports times in. Windows:
        ``after`` is the end of the last window delivered, which is where the next window begins.
        """
        if after is None:
            return self
        cursor = checked_time(after, "after")
        start = max(self.start, cursor if windowed else cursor + timedelta(microseconds=1))
        return replace(self, start=start) if start < self.stop else None


def checked_first(first: int) -> int:
    if not 1 <= first <= MAX_POINTS:
        raise _bad("first", f"must be between 1 and {MAX_POINTS}, got {first}; page with after for more")
    return first


def window_length(every_seconds: int | None) -> timedelta | None:
    """``telemetry``'s window: None (raw points) for none or 0, refused when negative."""
    if every_seconds is not None and every_seconds < 0:
        raise _bad("everySeconds", f"must be positive (or 0 for raw points), got {every_seconds}")
    return timedelta(seconds=every_seconds) if every_seconds else None


def windows_of(span: TimeRange, every_seconds: int) -> timedelta:
    """The window length, refused when it is not positive or ``span`` holds more than MAX_WINDOWS of it."""
    if every_seconds < 1:
        raise _bad("everySeconds", f"must be at least 1, got {every_seconds}")
    every = timedelta(seconds=every_seconds)
    windows = math.ceil((span.stop - span.start) / every)
    if windows > MAX_WINDOWS:
        raise _bad("everySeconds", f"from..to holds {windows} windows of {every_seconds} s; at most {MAX_WINDOWS} "
                                   "per query (raise everySeconds or narrow from/to)")
    return every


def checked_twin_count(count: int, argument: str) -> None:
    if count > MAX_TWINS_PER_SUBSCRIPTION:
        raise _bad(argument, f"{count} twins; at most {MAX_TWINS_PER_SUBSCRIPTION} per subscription")


def checked_twin_ids(twin_ids: list, argument: str) -> list[str]:
    """Twin ids a subscription listens to: at most MAX_TWINS_PER_SUBSCRIPTION, each a valid twin id.

    Why the id check: the broker keys a twin's component samples (its ML engine's predictions) as the
    id joined to the component name by a control character no valid id holds; a "twin id" holding one
    would name a component's key and read, through ``telemetry``, what ``predictions`` guards.
    """
    from graph.errors import ValidationError
    from graph.records import check_twin_id

    checked_twin_count(len(twin_ids), argument)
    found = []
    for index, twin_id in enumerate(twin_ids):
        try:
            found.append(check_twin_id(str(twin_id), f"/{argument}/{index}"))
        except ValidationError as error:
            raise _bad(f"{argument}/{index}", "an id is a non-empty string of printable characters") from error
    return found

