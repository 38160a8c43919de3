"""Counting a zip's entries before `zipfile` parses them.

`zipfile.ZipFile()` turns every central-directory record into a ZipInfo at once, and it walks
the directory by its size in bytes, not by the entry count the archive states: a body of a
few hundred MiB of 46-byte records would become millions of objects before any cap could be
checked. This walks the same bytes the same way (the end record found as zipfile finds it,
zip64 included) and stops after `limit` entries, so the caps come first."""

from __future__ import annotations

import struct

_END = b"PK\x05\x06"
_END_SIZE = 22
_END64_LOCATOR = b"PK\x06\x07"
_END64_LOCATOR_SIZE = 20
_END64 = b"PK\x06\x06"
_END64_SIZE = 56
_CENTRAL = b"PK\x01\x02"
_CENTRAL_SIZE = 46
_MAX_COMMENT = 0xFFFF


class TooManyEntries(Exception):
    pass


class NotAZip(Exception):
    pass


def _end_record(data: bytes) -> tuple[int, int]:
    """(position of the record the directory ends at, directory size), as zipfile reads them:
    the end record without a comment at the very end, else the last one in the final 64 KiB;
    a zip64 end record right before its locator takes precedence."""
    if len(data) >= _END_SIZE and data[-_END_SIZE:-_END_SIZE + 4] == _END and data[-2:] == b"\0\0":
        end = len(data) - _END_SIZE
    else:
        end = data.rfind(_END, max(0, len(data) - _MAX_COMMENT - _END_SIZE))
        if end < 0 or len(data) - end < _END_SIZE:
            raise NotAZip("no end of central directory record (not a zip archive)")
    size = struct.unpack_from("<L", data, end + 12)[0]
    locator = end - _END64_LOCATOR_SIZE
    if locator >= 0 and data[locator:locator + 4] == _END64_LOCATOR:
        record = locator - _END64_SIZE
        if record >= 0 and data[record:record + 4] == _END64:
            return record, struct.unpack_from("<Q", data, record + 40)[0]
    return end, size


def count_entries(data: bytes, limit: int) -> int:
    """The number of central-directory entries; TooManyEntries past `limit`, NotAZip when the
    directory cannot be walked (zipfile would refuse it too)."""
    end, size = _end_record(data)
    pos, stop = end - size, end
    if pos < 0:
        raise NotAZip("bad offset for the central directory")
    count = 0
    while pos < stop:
        if data[pos:pos + 4] != _CENTRAL or stop - pos < _CENTRAL_SIZE:
            raise NotAZip("bad central directory record")
        name_len, extra_len, comment_len = struct.unpack_from("<3H", data, pos + 28)
        pos += _CENTRAL_SIZE + name_len + extra_len + comment_len
        count += 1
        if count > limit:
            raise TooManyEntries(f"more than {limit} entries")
    return count
