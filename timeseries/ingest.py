"""The ingest pipeline: look twins up, validate + encode, write (ack), then publish.

This is what ``POST /ingest`` and the ``ingestTelemetry`` mutation call.  The
result names every rejected message by index; accepted ones are acknowledged
only when the writer has them in InfluxDB or the spool, and only then are they
published to live subscribers, and folded into the 1-minute aggregates
(:class:`~timeseries.downsampler.Downsampler`), which therefore see exactly the acknowledged
samples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gridtwin.config import Settings
from timeseries.broker import Broker
from timeseries.directory import TwinDirectory, TwinInfo
from timeseries.downsampler import Downsampler
from timeseries.lineprotocol import PRECISIONS, Precision
from timeseries.validation import Rejection, ValidatedBatch, twin_ids_of, validate_batch
from timeseries.writer import TelemetryWriter


@dataclass(frozen=True, slots=True)
class IngestResult:
    """``accepted`` messages are durable; ``rejected`` ones were not stored, each with its reason."""

    accepted: int
    rejected: list[Rejection] = field(default_factory=list)


class TelemetryIngest:
    """Validate-then-write for batches of telemetry messages.

    Raises :class:`~timeseries.spool.SpoolFull` (answer 503 + Retry-After) or
    :class:`~timeseries.writer.WriteRejected` when the accepted part of a batch
    could not be made durable; then none of the batch is acknowledged.
    """

    def __init__(self, directory: TwinDirectory, writer: TelemetryWriter, broker: Broker | None = None,
                 downsampler: Downsampler | None = None) -> None:
        self.directory = directory
        self.writer = writer
        self.broker = broker
        self.downsampler = downsampler
        #: Messages acknowledged (durable) and refused since start, for /metrics.
        self.accepted_total = 0
        self.rejected_total = 0

    @classmethod
    def from_settings(cls, settings: Settings, directory: TwinDirectory, broker: Broker | None = None,
                      *, downsample: bool = True, **writer_options: Any) -> TelemetryIngest:
        """The pipeline of one process; its downsampler keeps its state beside the raw spool."""
        writer = TelemetryWriter.from_settings(settings, **{"mode": settings.telemetry_write_mode, **writer_options})
        downsampler = Downsampler.from_settings(settings, writer.spool.directory) if downsample else None
        return cls(directory, writer, broker, downsampler)

    async def start(self) -> None:
        await self.writer.start()
        if self.downsampler is not None:
            await self.downsampler.start()

    async def close(self) -> None:
        """Stop taking samples, then write the open minutes (restart: nothing of them is lost)."""
        await self.writer.close()
        if self.downsampler is not None:
            await asyncio.sleep(0)  # callers whose lines the close just acknowledged fold them in first
            await self.downsampler.close()

    async def ingest(self, messages: Sequence[Any], precision: Precision | None = None) -> IngestResult:
        """Validate ``messages``, make the valid ones durable, publish them, report rejections."""
        if precision is not None and precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
        twins = await self.directory.describe(twin_ids_of(messages))
        batch = validate_batch(messages, twins, precision)
        if batch.lines:
            await self.writer.write(batch.lines)
            if self.downsampler is not None:
                self._downsample(batch, twins)
            if self.broker is not None:
                self.broker.publish(batch.samples)
        self.accepted_total += len(batch.lines)
        self.rejected_total += len(batch.rejections)
        return IngestResult(len(batch.lines), batch.rejections)

    def _downsample(self, batch: ValidatedBatch, twins: Mapping[str, TwinInfo]) -> None:
        """Fold the twins' own telemetry into the 1-minute aggregates; components' (predictions, a few per
        minute) are stored raw only."""
        assert self.downsampler is not None
        if not batch.with_components:
            self.downsampler.add(batch.samples, batch.lines, twins)
            return
        own = [i for i, sample in enumerate(batch.samples) if sample.component is None]
        self.downsampler.add([batch.samples[i] for i in own], [batch.lines[i] for i in own], twins)
