"""A bounded, append-only, fsync'ed spool of line protocol batches, replayed in order.

Why this shape:

* **Records are whole batches of rendered line protocol.**  One ``write`` + one
  ``fdatasync`` per batch (group commit), and a replay re-sends byte-identical
  lines.  InfluxDB overwrites a point with the same measurement, tag set, field
  and timestamp, so sending a record twice is harmless: that is what makes a
  crash between "written to InfluxDB" and "cursor advanced" safe, and why the
  spool never stores raw messages (their tags could change before a replay).
* **Segments + a cursor.**  Records are appended to numbered segment files
  (numbers never reused); a small cursor file says how far the replay got.  A
  fully replayed segment is deleted.  The cursor is replaced atomically and
  fsync'ed; if it is ever behind, the replay only re-sends records (idempotent).
* **Torn tails.**  The process can die mid-append.  Each record carries its length
  and a CRC-32, so on open the last segment is cut back to its last whole record;
  such a record was never acknowledged (the ack follows the fsync).
* **Bounded.**  ``max_bytes`` caps what is waiting for replay; beyond it
  :class:`SpoolFull` tells the caller to retry later instead of dropping data.

Record layout: ``magic "GTS1" | u32 body length | u32 crc32(body)`` then the body
``u64 sequence | u32 line count | payload``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAGIC = b"GTS1"
_HEADER = struct.Struct("<4sII")
_BODY_HEADER = struct.Struct("<QI")
HEADER_SIZE = _HEADER.size
SEGMENT_SUFFIX = ".seg"
CURSOR_FILE = "cursor.json"
DEAD_LETTER_DIR = "rejected"


class SpoolFull(Exception):
    """The spool holds ``max_bytes`` of unreplayed data: retry after ``retry_after`` seconds.

    Nothing of the refused batch was acknowledged or kept.
    """

    def __init__(self, retry_after: float, pending_bytes: int, max_bytes: int) -> None:
        super().__init__(f"telemetry spool is full ({pending_bytes} of {max_bytes} bytes waiting for "
                         f"InfluxDB); retry after {retry_after:.0f} s")
        self.retry_after = retry_after
        self.pending_bytes = pending_bytes
        self.max_bytes = max_bytes


@dataclass(frozen=True, slots=True)
class SpoolRecord:
    """One spooled batch and where it sits (what :meth:`Spool.commit` needs)."""

    sequence: int
    line_count: int
    payload: bytes
    segment: int
    offset: int
    end: int


def encode_record(sequence: int, line_count: int, payload: bytes) -> bytes:
    body = _BODY_HEADER.pack(sequence, line_count) + payload
    return _HEADER.pack(MAGIC, len(body), zlib.crc32(body)) + body


class SpoolBusy(Exception):
    """Another process holds this spool directory: two writers would interleave and lose records."""


#: Held (flock, exclusive) by the process that owns a spool directory, released when it closes or dies.
LOCK_FILE = ".owner.lock"


def _claim(directory: Path) -> int:
    """The descriptor of the directory's lock, taken without waiting; :class:`SpoolBusy` when held."""
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as error:
        os.close(fd)
        raise SpoolBusy(f"{directory} is the spool of another running process") from error
    return fd


#: Spool slots per profile: the API processes (replicas) one machine runs at once.
MAX_SLOTS = 64


def claim_spool(base: Path, **options: Any) -> Spool:
    """The first spool slot no running process owns: ``base``, then ``base-1``, ``base-2``, ...

    Each API process (replica) writes its own spool; a slot left with data by a process that
    died is replayed by the next process that takes it (the lowest free slot first).
    """
    for slot in range(MAX_SLOTS):
        directory = base if slot == 0 else base.with_name(f"{base.name}-{slot}")
        try:
            return Spool(directory, **options)
        except SpoolBusy:
            continue
    raise SpoolBusy(f"all {MAX_SLOTS} spool slots beside {base} are owned by running processes")


class Spool:
    """The spool in one directory, owned by one process (a lock file says so); safe to append from one
    thread while another replays."""

    def __init__(self, directory: Path, max_bytes: int = 512 * 1024 * 1024,
                 segment_bytes: int = 32 * 1024 * 1024) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._sizes: dict[int, int] = {}  # segment number -> valid bytes
        self._fd: int | None = None
        self._active: int = 0
        self._cursor = (0, 0)
        self._next_sequence = 1
        self._replay_bytes_per_s: float | None = None
        self.directory.mkdir(parents=True, exist_ok=True)
        self._owner = _claim(self.directory)
        self._recover()

    # ------------------------------------------------------------------ recovery

    def _recover(self) -> None:
        """Cut a torn tail, place the cursor, and find the next sequence number."""
        numbers = sorted(int(p.stem) for p in self.directory.glob(f"*{SEGMENT_SUFFIX}") if p.stem.isdigit())
        cursor_segment, cursor_offset, last_sequence, high = self._read_cursor()
        for number in numbers:
            self._sizes[number] = self._segment_path(number).stat().st_size
        if numbers:
            last = numbers[-1]
            valid, last_in_file = self._scan(last)
            if valid < self._sizes[last]:
                log.warning("spool segment %s: cut a torn tail at byte %d (of %d)", last, valid, self._sizes[last])
                with open(self._segment_path(last), "r+b") as handle:
                    handle.truncate(valid)
                    handle.flush()
                    os.fsync(handle.fileno())
                self._sizes[last] = valid
            last_sequence = max(last_sequence, last_in_file)
        existing = [n for n in numbers if n >= cursor_segment]
        if not existing:
            self._cursor = (max([cursor_segment, high, *numbers], default=0) + 1, 0)
        elif existing[0] != cursor_segment:
            self._cursor = (existing[0], 0)
        else:
            self._cursor = (cursor_segment, min(cursor_offset, self._sizes[cursor_segment]))
        for number in numbers:
            if number < self._cursor[0]:  # replayed but not yet deleted when we stopped
                self._segment_path(number).unlink(missing_ok=True)
                del self._sizes[number]
        self._active = max([self._cursor[0], *self._sizes], default=1)
        self._next_sequence = last_sequence + 1

    def _scan(self, number: int) -> tuple[int, int]:
        """Bytes of whole, CRC-valid records at the start of a segment, and their last sequence."""
        offset, last_sequence = 0, 0
        with open(self._segment_path(number), "rb") as handle:
            data = handle.read()
        while offset + HEADER_SIZE <= len(data):
            magic, length, crc = _HEADER.unpack_from(data, offset)
            body = data[offset + HEADER_SIZE: offset + HEADER_SIZE + length]
            if magic != MAGIC or len(body) != length or zlib.crc32(body) != crc or length < _BODY_HEADER.size:
                break
            last_sequence = _BODY_HEADER.unpack_from(body)[0]
            offset += HEADER_SIZE + length
        return offset, last_sequence

    def _read_cursor(self) -> tuple[int, int, int, int]:
        try:
            document = json.loads((self.directory / CURSOR_FILE).read_text())
            return (int(document["segment"]), int(document["offset"]), int(document.get("sequence", 0)),
                    int(document.get("high_segment", 0)))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return 0, 0, 0, 0

    # ------------------------------------------------------------------ state

    def _segment_path(self, number: int) -> Path:
        return self.directory / f"{number:012d}{SEGMENT_SUFFIX}"

    @property
    def pending_bytes(self) -> int:
        """Bytes appended and not yet replayed."""
        with self._lock:
            return self._pending_locked()

    def _pending_locked(self) -> int:
        segment, offset = self._cursor
        return sum(size for number, size in self._sizes.items() if number >= segment) - (
            offset if segment in self._sizes else 0)

    def is_empty(self) -> bool:
        return self.pending_bytes == 0

    def retry_after(self) -> float:
        """A guess of when the spool will have room: its backlog at the last replay rate."""
        rate = self._replay_bytes_per_s
        if not rate:
            return 5.0
        return min(60.0, max(1.0, self.pending_bytes / 2 / rate))

    # ------------------------------------------------------------------ append

    def append(self, payload: bytes, line_count: int) -> int:
        """Append one batch durably (one fdatasync) and return its sequence number.

        Raises :class:`SpoolFull` when the backlog would exceed ``max_bytes``.
        """
        with self._lock:
            pending = self._pending_locked()
            record_size = HEADER_SIZE + _BODY_HEADER.size + len(payload)
            if pending + record_size > self.max_bytes:
                raise SpoolFull(self.retry_after(), pending, self.max_bytes)
            sequence = self._next_sequence
            record = encode_record(sequence, line_count, payload)
            fd = self._writable_segment()
            written = os.write(fd, record)
            while written < len(record):
                written += os.write(fd, record[written:])
            os.fdatasync(fd)
            self._sizes[self._active] = self._sizes.get(self._active, 0) + len(record)
            self._next_sequence = sequence + 1
            return sequence

    def _writable_segment(self) -> int:
        """The open active segment, rotated when it has reached ``segment_bytes``."""
        if self._sizes.get(self._active, 0) >= self.segment_bytes:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self._active += 1
        if self._fd is not None:
            return self._fd
        path = self._segment_path(self._active)
        created = not path.exists()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._sizes.setdefault(self._active, os.fstat(self._fd).st_size)
        if created:
            _fsync_directory(self.directory)
        return self._fd

    # ------------------------------------------------------------------ replay

    def peek(self) -> SpoolRecord | None:
        """The oldest record not yet committed, or None when everything was replayed.

        A corrupt record in the middle of the spool (disk damage, not a torn tail) has
        its segment moved aside as ``.corrupt`` and the replay continues after it.
        """
        while True:
            with self._lock:
                segment, offset = self._cursor
                size = self._sizes.get(segment)
                if size is None:
                    later = sorted(n for n in self._sizes if n > segment)
                    if not later:
                        return None
                    self._cursor = (later[0], 0)
                    continue
                if offset >= size:
                    if segment == self._active or not any(n > segment for n in self._sizes):
                        return None
                    self._drop_segment(segment)
                    continue
            record = self._read_record(segment, offset, size)
            if record is not None:
                return record
            with self._lock:
                log.error("spool segment %s is corrupt at byte %d; moved aside", segment, offset)
                if self._fd is not None and segment == self._active:
                    os.close(self._fd)
                    self._fd = None
                    self._active = segment + 1
                self._segment_path(segment).rename(self._segment_path(segment).with_suffix(".corrupt"))
                del self._sizes[segment]

    def _read_record(self, segment: int, offset: int, size: int) -> SpoolRecord | None:
        with open(self._segment_path(segment), "rb") as handle:
            handle.seek(offset)
            header = handle.read(HEADER_SIZE)
            if len(header) < HEADER_SIZE:
                return None
            magic, length, crc = _HEADER.unpack(header)
            if magic != MAGIC or offset + HEADER_SIZE + length > size:
                return None
            body = handle.read(length)
        if len(body) != length or zlib.crc32(body) != crc:
            return None
        sequence, count = _BODY_HEADER.unpack_from(body)
        return SpoolRecord(sequence, count, body[_BODY_HEADER.size:], segment, offset,
                           offset + HEADER_SIZE + length)

    def commit(self, record: SpoolRecord, elapsed_s: float | None = None) -> None:
        """Mark ``record`` as in InfluxDB: advance and persist the cursor, drop finished segments."""
        with self._lock:
            if (record.segment, record.offset) != self._cursor:
                raise ValueError(f"commit out of order: {record.segment}:{record.offset} vs cursor {self._cursor}")
            self._cursor = (record.segment, record.end)
            if elapsed_s:
                rate = (record.end - record.offset) / elapsed_s
                previous = self._replay_bytes_per_s
                self._replay_bytes_per_s = rate if previous is None else 0.7 * previous + 0.3 * rate
            if record.end >= self._sizes.get(record.segment, 0) and record.segment != self._active:
                self._drop_segment(record.segment)
            elif self._pending_locked() == 0 and self._sizes.get(record.segment, 0) >= self.segment_bytes // 4:
                self._retire_active()
            self._write_cursor(record.sequence)

    def _drop_segment(self, segment: int) -> None:
        later = sorted(n for n in self._sizes if n > segment)
        self._segment_path(segment).unlink(missing_ok=True)
        self._sizes.pop(segment, None)
        self._cursor = (later[0] if later else segment + 1, 0)

    def _retire_active(self) -> None:
        """Everything is replayed: delete the active segment so the disk does not keep it."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._segment_path(self._active).unlink(missing_ok=True)
        self._sizes.pop(self._active, None)
        self._active += 1
        self._cursor = (self._active, 0)

    def _write_cursor(self, sequence: int) -> None:
        document = {"segment": self._cursor[0], "offset": self._cursor[1], "sequence": sequence,
                    "high_segment": max([self._active, *self._sizes])}
        temporary = self.directory / (CURSOR_FILE + ".tmp")
        with open(temporary, "w") as handle:
            handle.write(json.dumps(document))
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.directory / CURSOR_FILE)

    def dead_letter(self, record: SpoolRecord, reason: str) -> Path:
        """Keep a record InfluxDB refuses for good (HTTP 400) aside for an operator, then commit it."""
        folder = self.directory / DEAD_LETTER_DIR
        folder.mkdir(exist_ok=True)
        path = folder / f"{record.sequence:012d}-{int(time.time())}.lp"
        path.write_bytes(f"# {reason}\n".encode() + record.payload)
        self.commit(record)
        return path

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._owner is not None:
                os.close(self._owner)  # releases the directory to the next process
                self._owner = None


def _fsync_directory(directory: Path) -> None:
    """Make a new segment's directory entry durable, not only its data."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
