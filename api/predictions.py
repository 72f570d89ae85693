"""The ML engine of one API process: on-demand and continuous inference for measurement points.

Where the inputs come from, and where the answers go:

* A point's one-second window: for ``runInference``, read back from InfluxDB (the last 61 s of
  its own telemetry); for continuous inference, from ring buffers that a broker subscription of
  the watched points fills.  Both go through the same feature path (``ml.features``).
* A point's grid history: ``ml.inference.history.grid_history`` (the twin graph's grid solved
  over the last 14 days), once per grid and quarter-hour.
* Predictions are ingested as the point's ``mlEngine`` component telemetry through the normal
  pipeline (validated against MLEngine, made durable, published): the ``predictions``
  subscription and ``latestPredictions`` read them back.  Alerts (``ml.inference.alerts``) are
  published on :attr:`PredictionService.alerts`.

Continuous inference never slows ingest: its subscription coalesces when the engine falls behind
(the ring then misses samples, which the features count), and every pass runs in a worker thread.
Limits: :data:`MAX_WATCHED` points per process, checked before anything is subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gridtwin.fanout import FanOut
from timeseries.ingest import IngestResult

log = logging.getLogger(__name__)

MAX_WATCHED = 10_000
DEFAULT_INTERVAL_S = 5.0
WINDOW_LOOKBACK = timedelta(seconds=62)

Ingest = Callable[[Sequence[dict[str, Any]]], Awaitable[IngestResult]]

def point_inputs(driver: Any, models: Any, twin_ids: Sequence[str]) -> list[Any]:  # -> list[PointInput]
    """``ml.inference.points.point_inputs``, imported on first use (start-up imports no ML code)."""
    from ml.inference.points import point_inputs as read

    return read(driver, models, twin_ids)


@dataclass
class Watch:
    """Continuous inference of some points: what is watched, how often, what it last did."""

    twin_ids: tuple[str, ...]
    interval_s: float
    modules: tuple[str, ...]
    passes: int = 0
    last_pass_ms: float = 0.0
    last_error: str | None = None


class PredictionService:
    """The engine, the alert stream and continuous inference of one API process."""

    def __init__(self, cache: Any, driver: Any, models: Callable[[], Any], settings: Any, broker: Any,
                 ingest: Ingest) -> None:
        self.cache = cache
        self._driver = driver
        self._models = models
        self._settings = settings
        self._broker = broker
        self._ingest = ingest
        self.alerts: FanOut[Any] = FanOut(lambda alert: alert.twin_id)
        self._engine: Any = None
        self.watch: Watch | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def engine(self) -> Any:  # ml.inference.engine.InferenceEngine, built on first use: start-up imports no ML
        if self._engine is None:
            from ml.inference.engine import InferenceEngine
            from ml.inference.history import grid_history

            self._engine = InferenceEngine(self.cache, lambda grid, now: grid_history(
                self._driver, self._models(), self._settings, grid, now))
        return self._engine

    # ------------------------------------------------------------------ one pass

    async def publish(self, batch: Any, inputs: Sequence[Any]) -> IngestResult:
        """Store and stream a batch of predictions (MLEngine telemetry), then the alerts it raises."""
        import numpy as np

        from ml.inference.alerts import alerts_of

        messages = await asyncio.to_thread(batch.messages)
        stats = self.engine.stats
        metrics = {"totalInferences": stats.inferences, "averageInferenceTime": stats.average_ms,
                   "activeModels": self.cache.loaded}
        for message in messages:  # the engine's own telemetry (MLEngine.inferenceMetrics) beside each prediction
            message["values"]["inferenceMetrics"] = metrics
        result = await self._ingest(messages) if messages else IngestResult(0, [])
        for rejected in result.rejected:
            log.error("a prediction was rejected by the MLEngine model: %s", rejected.reason)
        raised = alerts_of(batch, np.array([i.nominal_hz for i in inputs], dtype=float))
        if raised:
            self.alerts.publish(raised)
        return result

    async def run_once(self, inputs: Sequence[Any], samples: Any, end_s: int, modules: tuple[str, ...]) -> Any:
        """One engine pass in a worker thread; its batch is stored and streamed before it is returned."""
        batch = await asyncio.to_thread(self.engine.infer, inputs, samples, end_s, modules)
        await self.publish(batch, inputs)
        return batch

    # ------------------------------------------------------------------ continuous

    async def start_watch(self, twin_ids: Sequence[str], interval_s: float, modules: tuple[str, ...]) -> Watch | None:
        """Replace what is watched (an empty list stops it); the points are resolved before anything starts."""
        if len(twin_ids) > MAX_WATCHED:
            raise ValueError(f"{len(twin_ids)} points; at most {MAX_WATCHED} are inferred continuously per process")
        inputs = await asyncio.to_thread(point_inputs, self._driver, self._models(), list(twin_ids)) if twin_ids else []
        await self.stop_watch()
        if not inputs:
            return None
        from ml.features.windows import LiveWindows

        self.watch = Watch(tuple(twin_ids), interval_s, modules)
        live = LiveWindows(MAX_WATCHED)
        subscription = self._broker.subscribe(list(twin_ids), max_queue=1024, policy="coalesce")
        self._tasks = [asyncio.create_task(_fill(subscription, live)),
                       asyncio.create_task(self._loop(self.watch, inputs, live))]
        return self.watch

    async def stop_watch(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.watch = None

    async def _loop(self, watch: Watch, inputs: list[Any], live: Any) -> None:
        while True:
            await asyncio.sleep(watch.interval_s)
            started = time.perf_counter()
            end_s = int(time.time()) - 1  # the second that has fully arrived
            try:
                samples = live.windows([i.twin_id for i in inputs], end_s)
                await self.run_once(inputs, samples, end_s, watch.modules)
                watch.last_error = None
            except Exception as error:  # noqa: BLE001 - one failed pass is logged and the next one tries again
                watch.last_error = f"{type(error).__name__}: {error}"
                log.exception("continuous inference pass failed")
            watch.passes += 1
            watch.last_pass_ms = (time.perf_counter() - started) * 1000.0

    async def close(self) -> None:
        await self.stop_watch()
        self.alerts.close()


async def _fill(subscription: Any, live: Any) -> None:
    """Fold the watched points' accepted samples into their rings (a subscription to their ids carries their
    own telemetry only, never their ML engine's predictions)."""
    from gridtwin.fanout import SubscriptionClosed

    with contextlib.suppress(SubscriptionClosed):
        try:
            while True:
                delivery = await subscription.get()
                for sample in delivery.items:
                    live.push(sample.twin, sample.time_ns, sample.values)
        finally:
            subscription.close()
