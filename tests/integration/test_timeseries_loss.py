"""No loss of acknowledged telemetry: InfluxDB stopped mid-stream, and the ingest process SIGKILLed.

These tests really stop the test profile's InfluxDB and always start it again
(``finally``), recording the new PID in runtime.json like ``services up`` does.
Every message carries its sequence number in ``sampleCount`` and a timestamp
derived from it, so "exactly once" is checked point by point with Flux.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from influxdb_client import InfluxDBClient

from gridtwin.config import Settings
from servers import _write_runtime, influxdb, processes
from timeseries.directory import InMemoryTwinDirectory, TwinInfo
from timeseries.ingest import TelemetryIngest
from timeseries.samples import MEASUREMENT_POINT, measurement_point_interface
from timeseries.spool import Spool
from timeseries.writer import InfluxHttpWriter, TelemetryWriter

REPO = Path(__file__).resolve().parents[2]
BASE_NS = (time.time_ns() // 1_000_000_000 - 600) * 1_000_000_000


def stop_influxdb(settings: Settings) -> None:
    processes.stop(settings.runtime()["influxdb"].get("pid"))


def running_influxd(settings: Settings) -> int | None:
    """PID of an influxd serving this profile's data, whoever started it."""
    bolt = str(settings.state_path / "influxdb" / "influxd.bolt")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command and command[0].endswith(b"influxd") and bolt.encode() in command:
            if processes.is_alive(int(entry.name)):
                return int(entry.name)
    return None


def start_influxdb(settings: Settings, timeout_s: float = 90.0) -> None:
    """Start the profile's InfluxDB again on its port and record its PID (as ``services up`` does).

    Other engineers share the server and may run ``services up`` while it is down:
    if another influxd already holds the data folder, adopt it instead of racing it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        runtime = settings.runtime()
        record = dict(runtime["influxdb"])
        pid = running_influxd(settings)
        if pid is not None:
            if influxdb.health(record["url"]) is not None:
                if record.get("pid") != pid:
                    _write_runtime(settings, {**runtime, "influxdb": {**record, "pid": pid}})
                return
        else:
            record.pop("pid", None)
            try:
                started = influxdb.start(settings, record)
                influxdb.wait_ready(started)
                _write_runtime(settings, {**settings.runtime(), "influxdb": started})
                return
            except processes.ServiceError:
                pass  # somebody else's influxd got the data folder first: adopt it next round
        if time.monotonic() > deadline:
            raise processes.ServiceError("could not restart the test profile's InfluxDB")
        time.sleep(0.5)


@pytest.fixture
def restarts_influxdb(settings: Settings) -> Iterator[None]:
    try:
        yield
    finally:
        start_influxdb(settings)


def message(twin: str, seq: int, base_ns: int = BASE_NS) -> dict[str, object]:
    return {"twin": twin, "time": base_ns + seq * 1_000_000,
            "values": {"sampleCount": seq, "frequency": 50.0, "voltage": {"phaseA": 230.0 + seq % 7}}}


def stored_sequences(client: InfluxDBClient, settings: Settings, twin: str) -> list[tuple[int, int]]:
    """(timestamp ns, sampleCount) of every stored point of ``twin``."""
    flux = ('from(bucket: b) |> range(start: -1h) |> filter(fn: (r) => r.twin == t and r._field == "sampleCount")'
            ' |> group()')
    tables = client.query_api().query(flux, params={"b": settings.influxdb_bucket, "t": twin})
    return [(int(r.get_time().timestamp() * 1_000_000) * 1000, int(r.get_value()))
            for table in tables for r in table.records]


def assert_exactly_once(stored: list[tuple[int, int]], acked: set[int]) -> None:
    values = [seq for _, seq in stored]
    assert len(values) == len(set(values)), "a value is stored twice"
    for moment, seq in stored:
        assert abs(moment - (BASE_NS + seq * 1_000_000)) < 1_000, "a value sits at a foreign timestamp"
    missing = acked - set(values)
    assert not missing, f"{len(missing)} acknowledged values missing, e.g. {sorted(missing)[:5]}"


async def test_influxdb_stopped_mid_stream_loses_nothing(settings: Settings, influx_client: InfluxDBClient,
                                                         tmp_path: Path, restarts_influxdb: None) -> None:
    twin = f"loss1-{uuid.uuid4().hex[:10]}"
    directory = InMemoryTwinDirectory({twin: TwinInfo(twin, MEASUREMENT_POINT, measurement_point_interface())})
    writer = TelemetryWriter(InfluxHttpWriter.from_settings(settings), Spool(tmp_path / "spool"),
                             batch_lines=200, linger_s=0.01, direct_timeout_s=2.0, max_retry_interval_s=0.5)
    ingest = TelemetryIngest(directory, writer)
    await ingest.start()
    acked: set[int] = set()
    sending = True

    async def produce() -> None:
        seq = 0
        while sending:
            chunk = list(range(seq, seq + 50))
            result = await ingest.ingest([message(twin, s) for s in chunk], "ns")
            assert result.accepted == 50
            acked.update(chunk)
            seq += 50
            await asyncio.sleep(0.005)

    producer = asyncio.create_task(produce())
    await asyncio.sleep(1.5)
    before_stop = len(acked)
    await asyncio.to_thread(stop_influxdb, settings)
    await asyncio.sleep(2.0)
    during_outage = len(acked) - before_stop
    await asyncio.to_thread(start_influxdb, settings)
    await asyncio.sleep(1.0)
    sending = False
    await producer
    assert await writer.wait_drained(30), "the spool did not drain"
    stats = writer.stats
    await ingest.close()
    assert during_outage > 0 and stats.lines_spooled > 0 and stats.lines_replayed == stats.lines_spooled
    stored = stored_sequences(influx_client, settings, twin)
    assert_exactly_once(stored, acked)
    assert len(stored) == len(acked)  # nothing unacknowledged in this test either


CHILD = textwrap.dedent("""
    import asyncio, sys
    from gridtwin.config import Settings
    from timeseries.directory import InMemoryTwinDirectory, TwinInfo
    from timeseries.ingest import TelemetryIngest
    from timeseries.samples import MEASUREMENT_POINT, measurement_point_interface
    from timeseries.spool import Spool
    from timeseries.writer import InfluxHttpWriter, TelemetryWriter
    from tests.integration.test_timeseries_loss import message

    async def main(spool_dir, twin, first, count, base_ns):
        settings = Settings()
        directory = InMemoryTwinDirectory({twin: TwinInfo(twin, MEASUREMENT_POINT, measurement_point_interface())})
        writer = TelemetryWriter(InfluxHttpWriter.from_settings(settings), Spool(spool_dir), batch_lines=200,
                                 linger_s=0.01, direct_timeout_s=2.0, max_retry_interval_s=0.3)
        ingest = TelemetryIngest(directory, writer)
        await ingest.start()
        print("STARTED", flush=True)
        for seq in range(first, first + count, 25):
            await ingest.ingest([message(twin, s, base_ns) for s in range(seq, seq + 25)], "ns")
            print("ACK", seq, seq + 25, flush=True)
            await asyncio.sleep(0.005)
        print("DRAINED" if await writer.wait_drained(30) else "NOT-DRAINED", flush=True)
        await ingest.close()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
""")


def spawn_child(settings: Settings, spool_dir: Path, twin: str, first: int, count: int) -> subprocess.Popen[str]:
    env = {**os.environ, "GRIDTWIN_PROFILE": settings.profile, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(spool_dir), twin, str(first), str(count),
                             str(BASE_NS)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)


_PARTIAL_LINES: dict[int, str] = {}


def complete_lines(child: subprocess.Popen[str]) -> list[str] | None:
    """The child's newly completed output lines; ``None`` once it has exited with nothing left.

    A non-blocking ``readline`` can return half a line (the child was mid-``print``); the tail is kept
    until its newline arrives, so an ``ACK first stop`` line is never parsed in pieces.
    """
    assert child.stdout is not None
    descriptor = child.stdout.fileno()
    os.set_blocking(descriptor, False)
    try:
        chunk = os.read(descriptor, 1 << 16).decode()
    except BlockingIOError:
        chunk = ""
    buffered = _PARTIAL_LINES.get(child.pid, "") + chunk
    *lines, tail = buffered.split("\n")
    _PARTIAL_LINES[child.pid] = tail
    if not lines and not chunk and child.poll() is not None:
        return None
    return lines


def read_acks(child: subprocess.Popen[str], acked: set[int], until: float | None = None,
              stop_word: str | None = None) -> str | None:
    """Collect ACK lines until ``until`` (monotonic) or a line starting with ``stop_word``."""
    while until is None or time.monotonic() < until:
        lines = complete_lines(child)
        if lines is None:
            return None
        if not lines:
            time.sleep(0.01)
        for line in lines:
            if line.startswith("ACK"):
                _, first, stop = line.split()
                acked.update(range(int(first), int(stop)))
            elif stop_word and line.startswith(stop_word):
                return line.strip()
    return None


def test_sigkilled_ingest_replays_its_spool_on_restart(settings: Settings, influx_client: InfluxDBClient,
                                                       tmp_path: Path, restarts_influxdb: None) -> None:
    twin = f"loss2-{uuid.uuid4().hex[:10]}"
    spool_dir = tmp_path / "spool"
    acked: set[int] = set()
    child = spawn_child(settings, spool_dir, twin, 0, 1_000_000)
    try:
        read_acks(child, acked, until=time.monotonic() + 3.0)  # import + stream with InfluxDB up
        assert acked, "the child acknowledged nothing"
        stop_influxdb(settings)
        outage_start = len(acked)
        read_acks(child, acked, until=time.monotonic() + 2.0)  # acked into the spool only
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        read_acks(child, acked)  # acks printed before the kill
    finally:
        if child.poll() is None:
            child.kill()
    assert len(acked) > outage_start, "nothing was acknowledged while InfluxDB was down"
    assert any(spool_dir.glob("*.seg")), "the killed process left no spool"
    start_influxdb(settings)
    restarted = spawn_child(settings, spool_dir, twin, 300_000, 50)  # replays the old spool, sends a little more
    try:
        verdict = read_acks(restarted, acked, until=time.monotonic() + 45, stop_word="DRAINED")
        restarted.wait(15)
    finally:
        if restarted.poll() is None:
            restarted.kill()
    assert verdict == "DRAINED"
    stored = stored_sequences(influx_client, settings, twin)
    assert_exactly_once(stored, acked)
