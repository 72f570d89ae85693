"""The bounded gzip reader of ``POST /ingest``: what ``gzip.decompress`` accepts, never more than the limit."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator

import pytest

from api.body_limits import BadGzip, BodyTooLarge, read_gunzipped, read_plain


async def _pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def _gunzip(data: bytes, max_bytes: int, piece: int = 7) -> bytearray:
    return asyncio.run(read_gunzipped(_pieces(data, piece), max_bytes))


def test_members_split_anywhere_inflate_like_gzip_decompress() -> None:
    body = gzip.compress(b'{"twin": "a"}\n' * 50) + gzip.compress(b'{"twin": "b"}\n' * 20)
    for piece in (1, 7, 4096):
        assert _gunzip(body, 10_000, piece) == gzip.decompress(body)
    assert _gunzip(b"", 10) == b""


def test_the_limit_is_on_the_inflated_size_and_inflating_stops_there() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(compressor.compress(bytes(1 << 20)) for _ in range(64)) + compressor.flush()  # 64 MiB of zeros
    with pytest.raises(BodyTooLarge) as raised:
        _gunzip(bomb, 1 << 20, piece=len(bomb))
    assert raised.value.max_bytes == 1 << 20 and "decompressed" in str(raised.value)
    assert len(_gunzip(bomb, 64 << 20, piece=4096)) == 64 << 20  # exactly at the limit is allowed


def test_truncated_or_foreign_bodies_are_bad_gzip() -> None:
    whole = gzip.compress(b"x" * 1000)
    for body in (whole[:-4], b"not gzip at all", whole + b"trailing junk"):
        with pytest.raises(BadGzip):
            _gunzip(body, 10_000)


def test_a_plain_body_past_the_limit_is_refused() -> None:
    assert asyncio.run(read_plain(_pieces(b"a" * 100, 10), 100)) == b"a" * 100
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_plain(_pieces(b"a" * 101, 10), 100))
