"""Batched, asynchronous writes to InfluxDB that never lose an acknowledged line.

A caller's lines are acknowledged (``await writer.write(lines)`` returns) only once
they are in InfluxDB or fsync'ed in the :class:`~timeseries.spool.Spool`.

Two routes, chosen by ``mode`` (bench/ingest_bench.py measures both):

* ``"direct"`` (default): a batch is POSTed with a short timeout; if InfluxDB
  cannot take it, the batch goes to the spool, and while the spool holds
  anything, new batches go there too so InfluxDB receives them in order.
* ``"spool_first"``: every batch is fsync'ed to the spool and acknowledged, and
  the replayer writes it.  Costs a second copy on disk per batch.

Batches from many callers are merged (group commit: one HTTP write or one
fdatasync for all of them), up to ``batch_lines`` or ``linger_s``.  Up to
``max_in_flight`` batches are written concurrently; failed ones reach the spool
in submission order.  The replayer drains the spool oldest-first and advances
its cursor only after InfluxDB answered 204; a crash in between re-sends the
same lines, which InfluxDB stores once (same series key and timestamp).
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from gridtwin.config import Settings
from timeseries.spool import Spool, SpoolFull, SpoolRecord, claim_spool

log = logging.getLogger(__name__)

WriteMode = Literal["direct", "spool_first"]


class InfluxUnavailable(Exception):
    """InfluxDB did not take a write for a reason that may pass (down, timeout, 5xx, 429, auth)."""


class WriteRejected(Exception):
    """InfluxDB refused lines for good (HTTP 400/413, e.g. a field type conflict); not acknowledged."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"InfluxDB refused the write ({status}): {message}")
        self.status = status


class InfluxHttpWriter:
    """POSTs line protocol to ``/api/v2/write`` (precision ns) with httpx.

    Why not influxdb-client's WriteApi: its async flavour needs aiohttp and its batching
    thread adds a second queue we could not acknowledge from; one POST per batch on
    a kept-alive connection is all we need.
    """

    def __init__(self, url: str, token: str, org: str, bucket: str, *, gzip_level: int | None = None,
                 client: httpx.AsyncClient | None = None) -> None:
        self.bucket = bucket
        self._params = {"org": org, "bucket": bucket, "precision": "ns"}
        self._gzip_level = gzip_level
        headers = {"Authorization": f"Token {token}", "Content-Type": "text/plain; charset=utf-8"}
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            base_url=url, headers=headers, limits=httpx.Limits(max_connections=16, max_keepalive_connections=8))
        if client is not None:
            self._client.headers.update(headers)

    @classmethod
    def from_settings(cls, settings: Settings, *, bucket: str | None = None, gzip_level: int | None = None
                      ) -> InfluxHttpWriter:
        url, token = settings.resolved_influxdb()
        return cls(url, token, settings.influxdb_org, bucket or settings.influxdb_bucket, gzip_level=gzip_level)

    async def write(self, body: bytes, timeout_s: float) -> None:
        """Write one body of lines; raise InfluxUnavailable (retry later) or WriteRejected (never)."""
        headers = {}
        if self._gzip_level is not None:
            body = await asyncio.to_thread(gzip.compress, body, self._gzip_level)
            headers["Content-Encoding"] = "gzip"
        try:
            response = await self._client.post("/api/v2/write", params=self._params, content=body,
                                               headers=headers, timeout=timeout_s)
        except httpx.HTTPError as error:
            raise InfluxUnavailable(f"{type(error).__name__}: {error}") from error
        if response.status_code == 204:
            return
        message = response.text[:500]
        if response.status_code in (400, 413, 422):
            raise WriteRejected(response.status_code, message)
        raise InfluxUnavailable(f"HTTP {response.status_code}: {message}")

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()


@dataclass
class WriterStats:
    """Counters for /metrics and the benchmark."""

    lines_direct: int = 0
    lines_spooled: int = 0
    lines_replayed: int = 0
    batches_direct: int = 0
    batches_spooled: int = 0
    records_replayed: int = 0
    records_dead_lettered: int = 0
    direct_failures: int = 0
    spool_full: int = 0
    #: InfluxDB write calls (direct and replayed) and the seconds they took, successful or not.
    influx_writes: int = 0
    influx_write_seconds: float = 0.0


@dataclass(eq=False)
class _Batch:
    lines: list[str] = field(default_factory=list)
    parts: list[tuple[int, int, asyncio.Future[None]]] = field(default_factory=list)  # (start, stop, ack)
    settled: asyncio.Event = field(default_factory=asyncio.Event)


class TelemetryWriter:
    """Merges callers' lines into batches and acknowledges each caller once its lines are safe."""

    def __init__(self, influx: InfluxHttpWriter, spool: Spool, *, mode: WriteMode = "direct",
                 batch_lines: int = 5000, linger_s: float = 0.02, max_in_flight: int = 3,
                 direct_timeout_s: float = 5.0, replay_timeout_s: float = 30.0,
                 max_retry_interval_s: float = 2.0) -> None:
        self.influx = influx
        self.spool = spool
        self.mode = mode
        self.batch_lines = batch_lines
        self.linger_s = linger_s
        self.direct_timeout_s = direct_timeout_s
        self.replay_timeout_s = replay_timeout_s
        self.max_retry_interval_s = max_retry_interval_s
        self.stats = WriterStats()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._max_queued = max_in_flight * 2
        self._current = _Batch()
        self._previous: _Batch | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._queued = 0
        self._capacity = asyncio.Event()
        self._capacity.set()
        self._spool_has_data = not spool.is_empty()
        self._spool_routed = 0  # batches that chose the spool route and have not appended yet
        self._replay_wake = asyncio.Event()
        self._replayer: asyncio.Task[None] | None = None
        self._closing = False

    @classmethod
    def from_settings(cls, settings: Settings, *, spool_dir: Path | None = None, max_spool_bytes: int = 512 << 20,
                      **options: object) -> TelemetryWriter:
        """A writer on the profile's InfluxDB with its own spool: ``spool_dir``, else the first free slot of
        ``<state>/spool`` (``spool``, ``spool-1``, ...: each process owns one, see ``claim_spool``)."""
        spool = (Spool(spool_dir, max_bytes=max_spool_bytes) if spool_dir is not None
                 else claim_spool(settings.state_path / "spool", max_bytes=max_spool_bytes))
        return cls(InfluxHttpWriter.from_settings(settings), spool, **options)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Start the replayer; whatever an earlier process left in the spool is replayed first."""
        if self._replayer is None:
            self._replayer = asyncio.create_task(self._replay_loop(), name="telemetry-spool-replayer")
            self._replay_wake.set()

    async def close(self, drain_timeout_s: float = 0.0) -> None:
        """Flush buffered lines, wait for in-flight batches, stop the replayer.

        With ``drain_timeout_s`` > 0 the replayer may first empty the spool for that long;
        whatever remains is replayed by the next process.
        """
        self._closing = True
        self._dispatch()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if drain_timeout_s > 0:
            await self.wait_drained(drain_timeout_s)
        if self._replayer is not None:
            self._replayer.cancel()
            await asyncio.gather(self._replayer, return_exceptions=True)
            self._replayer = None
        await self.influx.aclose()
        self.spool.close()

    async def wait_drained(self, timeout_s: float) -> bool:
        """True once the spool is empty (everything acknowledged is in InfluxDB) within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self._tasks and not self._current.lines and self.spool.is_empty():
                return True
            self._replay_wake.set()
            await asyncio.sleep(0.05)
        return False

    # ------------------------------------------------------------------ ingest side

    async def _influx_write(self, body: bytes, timeout_s: float) -> None:
        """One InfluxDB write, timed into the stats (for /metrics' InfluxDB latency)."""
        started = time.perf_counter()
        try:
            await self.influx.write(body, timeout_s)
        finally:
            self.stats.influx_writes += 1
            self.stats.influx_write_seconds += time.perf_counter() - started

    async def write(self, lines: Sequence[str]) -> None:
        """Return once ``lines`` are in InfluxDB or in the spool.

        Raises :class:`SpoolFull` (retry later, nothing kept) or :class:`WriteRejected`.
        """
        if not lines:
            return
        if self._closing:
            raise RuntimeError("the telemetry writer is closed")
        while self._queued >= self._max_queued:  # back-pressure: callers wait instead of memory growing
            self._capacity.clear()
            await self._capacity.wait()
        batch = self._current
        start = len(batch.lines)
        batch.lines.extend(lines)
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        batch.parts.append((start, len(batch.lines), ack))
        if len(batch.lines) >= self.batch_lines:
            self._dispatch()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.linger_s, self._dispatch)
        await ack

    def _dispatch(self) -> None:
        """Close the current batch and start committing it."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch = self._current
        if not batch.lines:
            return
        self._current = _Batch()
        previous, self._previous = self._previous, batch
        self._queued += 1
        task = asyncio.create_task(self._commit(batch, previous))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _commit(self, batch: _Batch, previous: _Batch | None) -> None:
        try:
            async with self._slots:
                await self._commit_batch(batch, previous)
        except BaseException as error:  # noqa: BLE001 - every waiter must hear about it
            _fail(batch, error if isinstance(error, Exception) else RuntimeError("cancelled"))
            if not isinstance(error, Exception):
                raise
        finally:
            batch.settled.set()
            self._queued -= 1
            self._capacity.set()

    async def _commit_batch(self, batch: _Batch, previous: _Batch | None) -> None:
        body = _body(batch.lines)
        if self.mode == "direct" and not self._spool_has_data:
            try:
                await self._influx_write(body, self.direct_timeout_s)
            except InfluxUnavailable as error:
                self.stats.direct_failures += 1
                log.warning("InfluxDB write failed (%s); spooling %d lines", error, len(batch.lines))
            except WriteRejected:
                await self._isolate_rejected(batch)
                return
            else:
                self.stats.batches_direct += 1
                self.stats.lines_direct += len(batch.lines)
                _succeed(batch)
                return
        self._spool_routed += 1
        try:
            if previous is not None:  # keep the spool in submission order
                await previous.settled.wait()
            await asyncio.to_thread(self.spool.append, body, len(batch.lines))
        except SpoolFull:
            self.stats.spool_full += 1
            raise
        finally:
            self._spool_routed -= 1
        self._spool_has_data = True
        self.stats.batches_spooled += 1
        self.stats.lines_spooled += len(batch.lines)
        self._replay_wake.set()
        _succeed(batch)

    async def _isolate_rejected(self, batch: _Batch) -> None:
        """A 400 names one bad line only: rewrite each caller's part alone so the others are acked."""
        for start, stop, ack in batch.parts:
            if ack.done():
                continue
            try:
                await self._influx_write(_body(batch.lines[start:stop]), self.direct_timeout_s)
            except WriteRejected as error:
                ack.set_exception(error)
            except InfluxUnavailable:
                try:
                    await asyncio.to_thread(self.spool.append, _body(batch.lines[start:stop]), stop - start)
                    self._spool_has_data = True
                    self._replay_wake.set()
                    ack.set_result(None)
                except SpoolFull as full:
                    ack.set_exception(full)
            else:
                ack.set_result(None)

    # ------------------------------------------------------------------ replay side

    async def _replay_loop(self) -> None:
        """Drain the spool oldest-first; back off while InfluxDB is away."""
        delay = 0.1
        while True:
            await self._replay_wake.wait()
            self._replay_wake.clear()
            while True:
                try:
                    record = await asyncio.to_thread(self.spool.peek)
                    if record is None:
                        # Back to direct writes only when no batch is on its way into the spool.
                        if self._spool_routed == 0 and self.spool.is_empty():
                            self._spool_has_data = False
                        break
                    await self._replay(record)
                except InfluxUnavailable as error:
                    log.info("spool replay waits for InfluxDB (%s)", error)
                except OSError as error:
                    log.error("spool replay failed: %s", error)
                else:
                    delay = 0.1
                    continue
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_interval_s)

    async def _replay(self, record: SpoolRecord) -> None:
        started = time.monotonic()
        try:
            await self._influx_write(record.payload, self.replay_timeout_s)
        except WriteRejected as error:
            path = await asyncio.to_thread(self.spool.dead_letter, record, str(error))
            self.stats.records_dead_lettered += 1
            log.error("InfluxDB refused spooled record %d for good; kept in %s", record.sequence, path)
            return
        await asyncio.to_thread(self.spool.commit, record, time.monotonic() - started)
        self.stats.records_replayed += 1
        self.stats.lines_replayed += record.line_count


def _body(lines: Sequence[str]) -> bytes:
    return "\n".join(lines).encode()


def _succeed(batch: _Batch) -> None:
    for _, _, ack in batch.parts:
        if not ack.done():
            ack.set_result(None)


def _fail(batch: _Batch, error: Exception) -> None:
    for _, _, ack in batch.parts:
        if not ack.done():
            ack.set_exception(error)
