"""The durable spool: order, no duplicates, bound, torn tails, restart (no servers)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from timeseries.spool import Spool, SpoolBusy, SpoolFull, claim_spool


def drain(spool: Spool) -> list[bytes]:
    out = []
    while (record := spool.peek()) is not None:
        out.append(record.payload)
        spool.commit(record)
    return out


def test_records_replay_in_order_exactly_once(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=200)
    payloads = [f"m f={i} {i}".encode() for i in range(50)]
    sequences = [spool.append(p, 1) for p in payloads]
    assert sequences == list(range(1, 51))
    assert len(list(tmp_path.glob("*.seg"))) > 3  # rotated
    assert drain(spool) == payloads
    assert spool.is_empty() and spool.peek() is None
    assert drain(spool) == []
    assert len(list(tmp_path.glob("*.seg"))) <= 1


def test_peek_without_commit_returns_the_same_record(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(b"a", 1)
    spool.append(b"b", 1)
    assert spool.peek().payload == spool.peek().payload == b"a"  # type: ignore[union-attr]


def test_restart_resumes_after_the_committed_cursor(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=100)
    for i in range(10):
        spool.append(f"line {i}".encode(), 1)
    for _ in range(4):
        record = spool.peek()
        assert record is not None
        spool.commit(record)
    os.close(spool._owner)  # killed without close: the OS releases its directory lock, nothing else
    reopened = Spool(tmp_path, segment_bytes=100)
    assert drain(reopened) == [f"line {i}".encode() for i in range(4, 10)]
    assert reopened.append(b"next", 1) == 11  # sequence numbers keep growing


def test_uncommitted_record_is_replayed_again_after_a_crash(tmp_path: Path) -> None:
    """Written to InfluxDB but killed before commit: the replay repeats it (idempotent there)."""
    spool = Spool(tmp_path)
    spool.append(b"x", 1)
    assert spool.peek() is not None
    os.close(spool._owner)  # killed: the lock goes with the process
    again = Spool(tmp_path)
    assert drain(again) == [b"x"]


def test_bounded_spool_refuses_with_retry_after(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1000)
    spool.append(b"x" * 400, 1)
    spool.append(b"x" * 400, 1)
    with pytest.raises(SpoolFull) as caught:
        spool.append(b"x" * 400, 1)
    assert caught.value.retry_after > 0 and caught.value.max_bytes == 1000
    record = spool.peek()
    assert record is not None
    spool.commit(record)
    spool.append(b"y" * 400, 1)  # room again after a replay


@pytest.mark.parametrize("cut", [1, 5, 13, 20])
def test_torn_tail_is_cut_back_to_the_last_whole_record(tmp_path: Path, cut: int) -> None:
    spool = Spool(tmp_path)
    spool.append(b"first", 1)
    spool.append(b"second-record", 1)
    spool.close()
    segment = next(tmp_path.glob("*.seg"))
    data = segment.read_bytes()
    segment.write_bytes(data[:-cut])
    reopened = Spool(tmp_path)
    assert drain(reopened) == [b"first"]
    reopened.append(b"third", 1)
    assert drain(reopened) == [b"third"]


def test_garbage_tail_is_cut(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(b"ok", 1)
    spool.close()
    segment = next(tmp_path.glob("*.seg"))
    with segment.open("ab") as handle:
        handle.write(b"GTS1\xff\xff\x00\x00garbage")
    assert drain(Spool(tmp_path)) == [b"ok"]


def test_corrupt_record_mid_spool_is_moved_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=60)
    for i in range(6):
        spool.append(f"record-{i}".encode() * 2, 1)
    spool.close()
    first = sorted(tmp_path.glob("*.seg"))[0]
    data = bytearray(first.read_bytes())
    data[20] ^= 0xFF
    first.write_bytes(bytes(data))
    reopened = Spool(tmp_path, segment_bytes=60)
    replayed = drain(reopened)
    assert replayed and replayed == sorted(replayed)  # the rest, still in order
    assert list(tmp_path.glob("*.corrupt"))


def test_a_spool_directory_has_one_owner_and_each_process_claims_its_own_slot(tmp_path: Path) -> None:
    """Two processes appending to one spool would interleave records: the second is refused, and
    claim_spool gives it the next slot; a slot freed by its owner is taken again first."""
    base = tmp_path / "spool"
    first = claim_spool(base)
    with pytest.raises(SpoolBusy, match="spool of another running process"):
        Spool(base)
    second = claim_spool(base)
    assert (first.directory, second.directory) == (base, tmp_path / "spool-1")
    first.append(b"kept", 1)
    first.close()
    third = claim_spool(base)
    assert third.directory == base and drain(third) == [b"kept"]
    second.close()
    third.close()
