"""The downsampling of one API process: 1-minute aggregates written as the minutes close.

The ingest hands every acknowledged batch to :meth:`Downsampler.add` (synchronous, a few µs
per message). Once a second the minutes that are due are written to ``<bucket>_1m`` through a
:class:`~timeseries.writer.TelemetryWriter` of their own (batched, and spooled under
``<spool>/downsampled/spool`` while InfluxDB is away), as ``agg``-tagged lines of this
process's ``ingester``. The cost is bounded and proportional: O(1) per value at ingest, and
per minute one write of 7 lines per series that had samples; InfluxDB runs no query for it.

Why an ``ingester`` tag: several API processes may ingest the same twin, and InfluxDB keeps
one value per series, field and time, so each process writes its own partial, and readers
merge partials (count/sum add, min/max, last by ``last_time``; docs/timeseries.md). The id
lives in ``<spool>/downsampled/state.json`` (the spool is per process already), so a
restarted process continues its own series instead of adding new ones.

Restart and crash: ``close`` writes every open minute and saves the minutes held in memory;
the next process reloads them, so samples of a minute split across the restart merge exactly.
``state.json`` also records which minutes were written *before* the write is sent; after a
crash, a sample for such a minute makes the Downsampler read this ingester's stored partial
back and merge it (only when its own spool is empty, so nothing stored is missed). What a
crash loses is the statistics of minutes still open then: raw data is intact and
:func:`timeseries.setup.backfill_downsampled` recomputes a span from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from influxdb_client import InfluxDBClient

from gridtwin.config import Settings
from timeseries.aggregates import AGGREGATES, MINUTE_NS, TAG_AGG, TAG_INGESTER, stats_from_aggregates
from timeseries.directory import TwinInfo
from timeseries.minutes import MinuteAggregator, MinuteSet
from timeseries.setup import downsampled_bucket
from timeseries.spool import Spool
from timeseries.queries import OR_CHAIN_LIMIT
from timeseries.validation import Sample
from timeseries.writer import InfluxHttpWriter, TelemetryWriter, WriteRejected

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
#: Twins per read-back query: a pushed-down ``r.twin == ... or ...`` chain, at most the queries' limit
#: (Flux refuses longer chains as "nested too deep"; 200 did, and stored partials then never merged).
_READBACK_CHUNK = OR_CHAIN_LIMIT
_WRITE_CHUNK = 2_000
_SECOND_NS = 1_000_000_000
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


class PartialsReader:
    """Reads one ingester's stored partials back from the downsampled bucket (sync: run in a thread)."""

    def __init__(self, client: InfluxDBClient, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def read(self, measurement: str, ingester: str, twins: Sequence[str], start_ns: int,
             stop_ns: int) -> list[dict[str, Any]]:
        """Rows (``_time``, ``_field``, ``_value``, tags) of the twins' partials with ``_time`` in ``[start, stop)``."""
        rows: list[dict[str, Any]] = []
        for first in range(0, len(twins), _READBACK_CHUNK):
            chunk = twins[first:first + _READBACK_CHUNK]
            params: dict[str, Any] = {f"gt_t{i}": twin for i, twin in enumerate(chunk)}
            twin_filter = " or ".join(f"r.twin == {name}" for name in params)
            flux = f"""from(bucket: gt_bucket)
    |> range(start: gt_start, stop: gt_stop)
    |> filter(fn: (r) => r._measurement == gt_measurement and r.{TAG_INGESTER} == gt_ingester)
    |> filter(fn: (r) => {twin_filter})
"""
            params.update({"gt_bucket": self._bucket, "gt_measurement": measurement, "gt_ingester": ingester,
                           "gt_start": _datetime(start_ns), "gt_stop": _datetime(stop_ns)})
            tables = self._client.query_api().query(flux, params=params)
            rows.extend(record.values for table in tables for record in table.records)
        return rows

    def close(self) -> None:
        self._client.close()


@dataclass
class DownsamplerStats:
    """Counters for the benchmark and logs."""

    minutes_written: int = 0
    lines_written: int = 0
    readbacks: int = 0
    postponed: int = 0
    write_failures: int = 0


class Downsampler:
    """Aggregates acknowledged samples per minute and writes each minute's partial as it closes."""

    def __init__(self, writer: TelemetryWriter, reader: PartialsReader, directory: Path, *,
                 grace_s: float = 10.0, idle_s: float = 2.0, retain_s: float = 120.0, tick_s: float = 1.0,
                 max_open: int = 100_000, max_retained: int = 100_000) -> None:
        self.writer = writer
        self.reader = reader
        self.directory = Path(directory)
        self.grace_ns = int(grace_s * 1e9)
        self.idle_s = idle_s
        self.retain_s = retain_s
        self.tick_s = tick_s
        self.stats = DownsamplerStats()
        self.directory.mkdir(parents=True, exist_ok=True)
        state = _read_state(self.directory / STATE_FILE)
        ingester = state.get("ingester") or _new_ingester_id()
        self.aggregator = MinuteAggregator(ingester, written=MinuteSet(state.get("written", ())),
                                           max_open=max_open, max_retained=max_retained)
        self.aggregator.restore(state.get("minutes", ()), time.monotonic())
        self._lock = asyncio.Lock()
        self._loop: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, spool_dir: Path, **options: Any) -> Downsampler:
        """The downsampler of the process whose raw spool is ``spool_dir`` (its state lives beside it)."""
        url, token = settings.resolved_influxdb()
        return cls.for_bucket(url, token, settings.influxdb_org, downsampled_bucket(settings), spool_dir, **options)

    @classmethod
    def for_bucket(cls, url: str, token: str, org: str, bucket: str, spool_dir: Path, **options: Any) -> Downsampler:
        """Writing to ``bucket``: its writer, spool, reader and state under ``<spool_dir>/downsampled``."""
        directory = Path(spool_dir) / "downsampled"
        spool = Spool(directory / "spool", max_bytes=256 << 20)
        writer = TelemetryWriter(InfluxHttpWriter(url, token, org, bucket), spool, batch_lines=_WRITE_CHUNK,
                                 direct_timeout_s=15.0)
        reader = PartialsReader(InfluxDBClient(url=url, token=token, org=org, timeout=60_000), bucket)
        return cls(writer, reader, directory, **options)

    @property
    def ingester(self) -> str:
        return self.aggregator.ingester

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Start the 1m writer and the once-a-second flush; forget the reloaded minutes on disk."""
        await self.writer.start()
        await self._save_state(with_minutes=False)
        if self._loop is None:
            self._loop = asyncio.create_task(self._run(), name="telemetry-downsampler")

    async def close(self, drain_timeout_s: float = 5.0) -> None:
        """Write every open minute, save what memory holds for the next process, stop."""
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
        with contextlib.suppress(Exception):
            if self.aggregator.open and not self.writer.spool.is_empty():
                await self.writer.wait_drained(drain_timeout_s)  # so stored partials can be read back
        try:
            await self.flush(everything=True)
        except Exception as error:  # noqa: BLE001 - what is left is saved below and written next time
            log.warning("downsampling: open minutes not written at shutdown (%s); kept for the next start", error)
        await self._save_state(with_minutes=True)
        await self.writer.close(drain_timeout_s=drain_timeout_s)  # what stays in the spool is sent by the next start
        self.reader.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                await self.flush()
            except Exception as error:  # noqa: BLE001 - keep aggregating; the minutes stay open
                log.warning("downsampling: writing minutes failed (%s); retrying", error)

    # ------------------------------------------------------------------ ingest side

    def add(self, samples: Sequence[Sample], lines: Sequence[str], twins: Mapping[str, TwinInfo]) -> None:
        """Fold an acknowledged batch in (never waits)."""
        self.aggregator.add(samples, lines, twins)

    # ------------------------------------------------------------------ writing minutes

    async def flush(self, everything: bool = False) -> int:
        """Write the minutes that are due (all open ones with ``everything``); the number written."""
        async with self._lock:
            aggregator = self.aggregator
            now = time.monotonic()
            minutes = list(aggregator.open) if everything else aggregator.due(
                time.time_ns(), now, self.grace_ns, self.idle_s)
            if minutes:
                minutes = await self._read_back(minutes)
                waiting = {m for per_minute in aggregator.readback_wanted(minutes).values() for m in per_minute}
                minutes = [m for m in minutes if m not in waiting]  # a series appeared during the read: next time
            if not minutes:
                aggregator.evict(now, self.retain_s)
                return 0
            buckets, lines = aggregator.take(minutes, now)
            await self._save_state(with_minutes=False)  # "written" is on disk before anything is sent
            try:
                await self._write(lines)
            except WriteRejected as error:
                self.stats.write_failures += 1
                log.error("downsampling: InfluxDB refused %d aggregate lines for good: %s", len(lines), error)
            except BaseException:
                self.stats.write_failures += 1
                aggregator.untake(buckets)
                raise
            else:
                self.stats.minutes_written += len(buckets)
                self.stats.lines_written += len(lines)
            aggregator.evict(now, self.retain_s)
            return len(buckets)

    async def _write(self, lines: list[str]) -> None:
        chunks = [lines[i:i + _WRITE_CHUNK] for i in range(0, len(lines), _WRITE_CHUNK)]
        results = await asyncio.gather(*(self.writer.write(chunk) for chunk in chunks), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]

    async def _read_back(self, minutes: list[int]) -> list[int]:
        """Merge stored partials the due minutes need; minutes that cannot be read back now wait."""
        aggregator = self.aggregator
        wanted = aggregator.readback_wanted(minutes)
        if not wanted:
            return minutes
        needing = {m for per_minute in wanted.values() for m in per_minute}
        if not self.writer.spool.is_empty():  # a partial may still sit in our spool: InfluxDB would not show it
            self.stats.postponed += len(needing)
            return [m for m in minutes if m not in needing]
        try:
            for measurement, per_minute in wanted.items():
                twins = sorted(set().union(*per_minute.values()))
                rows = await asyncio.to_thread(self.reader.read, measurement, self.ingester, twins,
                                               min(per_minute) + MINUTE_NS, max(per_minute) + MINUTE_NS + _SECOND_NS)
                for (minute, tags), fields in _partials(rows).items():
                    aggregator.merge_stored(minute, measurement, dict(tags), fields)
                aggregator.readback_done(per_minute, measurement)  # merged once, even if the next one fails
        except Exception as error:  # noqa: BLE001 - InfluxDB away: try these minutes again later
            log.info("downsampling: reading stored partials failed (%s); minutes wait", error)
            self.stats.postponed += len(needing)
            return [m for m in minutes if m not in needing]
        self.stats.readbacks += len(needing)
        return minutes

    async def _save_state(self, *, with_minutes: bool) -> None:
        state = self.aggregator.to_state(with_minutes=with_minutes)
        await asyncio.to_thread(_write_state, self.directory / STATE_FILE, state)


def _partials(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[int, tuple[tuple[str, str], ...]], dict[str, list[Any]]]:
    """Stored rows -> (minute, raw tags) -> field -> Stats."""
    grouped: dict[tuple[int, tuple[tuple[str, str], ...]], dict[str, dict[str, float]]] = {}
    for row in rows:
        agg = row.get(TAG_AGG)
        if agg not in AGGREGATES:
            continue
        tags = tuple(sorted((k, v) for k, v in row.items()
                            if not k.startswith("_") and k not in ("result", "table", TAG_AGG, TAG_INGESTER)
                            and isinstance(v, str)))
        moment: datetime = row["_time"]
        minute = int(moment.timestamp()) * 1_000_000_000 - MINUTE_NS
        grouped.setdefault((minute, tags), {}).setdefault(row["_field"], {})[agg] = float(row["_value"])
    result: dict[tuple[int, tuple[tuple[str, str], ...]], dict[str, list[Any]]] = {}
    for key, fields in grouped.items():
        result[key] = {name: stats for name, values in fields.items()
                       if (stats := stats_from_aggregates(values)) is not None}
    return result


def _datetime(time_ns: int) -> datetime:
    return datetime.fromtimestamp(time_ns // 1_000_000_000, tz=timezone.utc)


def _new_ingester_id() -> str:
    host = _UNSAFE.sub("-", socket.gethostname())[:40] or "host"
    return f"{host}-{secrets.token_hex(4)}"


def _read_state(path: Path) -> dict[str, Any]:
    try:
        state = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, orjson.JSONDecodeError) as error:
        log.error("downsampling state %s unreadable (%s); starting with a new ingester id", path, error)
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(path: Path, state: Mapping[str, Any]) -> None:
    """Atomically replace the state file (write, fsync, rename, fsync the folder)."""
    temporary = path.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        handle.write(orjson.dumps(state))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    descriptor = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
