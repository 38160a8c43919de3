"""Problem archives (SPEC §7), without AWS: the entries a zip may hold, test numbering, the
caps after decompression (zip bombs included: refused at the cap, never inflated whole),
corrupt archives, problem.json, checkers and interactors from their entries."""

from __future__ import annotations

import io
import json
import stat
import struct
import time
import tracemalloc
import zipfile
import zlib
from typing import Any

import pytest

from api_gateway.errors import APIError
from api_gateway.problem_upload import problem_from_json, problem_from_zip
from api_gateway.zip_directory import NotAZip, TooManyEntries, count_entries
from shared.settings import Settings

S = Settings()
MiB = 1 << 20
BASIC = {"tests/1.in": "1 2\n", "tests/1.out": "3\n", "tests/2.in": "5 5\n", "tests/2.ans": "10\n"}


def make_zip(entries: dict[str, Any] | list[tuple[Any, Any]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of (name or ZipInfo, bytes or text) entries, in order."""
    buf = io.BytesIO()
    items = entries.items() if isinstance(entries, dict) else entries
    with zipfile.ZipFile(buf, "w", compression) as archive:
        for name, data in items:
            archive.writestr(name, data)
    return buf.getvalue()


def info(name: str, mode: int) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name)
    zi.create_system = 3  # Unix: the mode is in the high 16 bits of external_attr
    zi.external_attr = mode << 16
    return zi


def refused(data: bytes, settings: Settings = S) -> APIError:
    with pytest.raises(APIError) as err:
        problem_from_zip(data, settings)
    return err.value


def deflate_bomb(size_mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of `size_mib` MiB of zeros (about 1 KiB per MiB) and its CRC: one
    full-flush block repeated (after a full flush a block does not depend on what came before)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(b"\0" * MiB) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size_mib):
        crc = zlib.crc32(b"\0" * MiB, crc)
    return block * size_mib + zlib.compressobj(9, zlib.DEFLATED, -15).flush(), crc


def raw_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of pre-deflated members (name, raw deflate, crc, uncompressed size), written by
    hand: zipfile cannot store a stream it did not compress itself."""
    out, central = bytearray(), bytearray()
    for name, raw, crc, size in entries:
        encoded, offset = name.encode(), len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(raw), size, len(encoded), 0)
        out += encoded + raw
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(raw), size,
                               len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(out), 0)
    return bytes(out + central + end)


def _central_records(data: bytes) -> list[int]:
    end = data.rfind(b"PK\x05\x06")
    size, offset = struct.unpack_from("<2L", data, end + 12)
    positions, pos = [], offset
    while pos < offset + size:
        positions.append(pos)
        pos += 46 + sum(struct.unpack_from("<3H", data, pos + 28))
    return positions


# --- a good archive -------------------------------------------------------------------------
def test_a_full_archive() -> None:
    inner = make_zip({"a.txt": "not extracted"})
    problem_json = {"tests": [{"points": 30, "group": "g"}, {"points": 70}], "groups": [{"name": "g", "points": 30}],
                    "limits": {"time_ms": 500}, "compare": "tokens", "stop_on_first_failure": True,
                    "checker": {"files": [{"name": "testlib.h", "content": "//"}]}}
    data = make_zip([("tests/", ""), ("files/", ""), ("files/sub/", ""), *BASIC.items(),
                     ("problem.json", json.dumps(problem_json)), ("checker.cpp", "int main(){}"),
                     ("interactor.py", "print(1)"), ("files/sub/data.txt", "hello"), ("files/inner.zip", inner),
                     ("files/bin.dat", b"\xff\x00")])
    problem = problem_from_zip(data, S)
    assert [(t.input, t.answer, t.points, t.group) for t in problem.tests] == [
        (b"1 2\n", b"3\n", 30, "g"), (b"5 5\n", b"10\n", 70, None)]
    opts = problem.options
    assert opts.checker is not None and (opts.checker.language, opts.checker.code) == ("cpp", "int main(){}")
    assert [f.name for f in opts.checker.files] == ["testlib.h"]
    assert opts.interactor is not None and opts.interactor.language == "python"
    files = {f.name: f for f in opts.files}
    assert sorted(files) == ["bin.dat", "inner.zip", "sub/data.txt"]
    assert files["inner.zip"].data() == inner  # stored as a file, never extracted
    assert files["bin.dat"].encoding == "base64" and files["bin.dat"].data() == b"\xff\x00"
    assert files["sub/data.txt"].encoding == "utf8" and files["sub/data.txt"].content == "hello"
    assert (problem.limits.time_ms, problem.compare, opts.stop_on_first_failure) == (500, "tokens", True)
    assert [g.name for g in opts.groups] == ["g"]


def test_without_problem_json_each_test_scores_one() -> None:
    problem = problem_from_zip(make_zip(BASIC, zipfile.ZIP_STORED), S)
    assert [(t.points, t.group) for t in problem.tests] == [(1, None), (1, None)]
    assert problem.options.checker is None and problem.compare == "lines"


def test_the_same_content_is_the_same_version_as_json_or_zip() -> None:
    as_json = {"test_cases": [{"input": "1 2\n", "expected": "3\n"}, {"input": "5 5\n", "expected": "10\n"}],
               "files": [{"name": "x.bin", "content": "/wA=", "encoding": "base64"}], "compare": "tokens"}
    zipped = make_zip({**BASIC, "files/x.bin": b"\xff\x00", "problem.json": '{"compare": "tokens"}'})
    assert problem_from_json(json.dumps(as_json).encode(), S).version() == problem_from_zip(zipped, S).version()
    other = make_zip({**BASIC, "files/x.bin": b"\xff\x01", "problem.json": '{"compare": "tokens"}'})
    assert problem_from_zip(other, S).version() != problem_from_zip(zipped, S).version()


# --- entries ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("entry", "why"), [
    ("/tests/3.in", "absolute path"),
    ("tests/../../etc/passwd", "'..'"),
    ("files/../x", "'..'"),
    ("tests\\1.in", "backslash"),
    ("C:/x", "drive letter"),
    ("c:files/x", "drive letter"),
])
def test_unsafe_names_are_422(entry: str, why: str) -> None:
    err = refused(make_zip({**BASIC, entry: "x"}))
    assert (err.status, err.code) == (422, "unsafe_archive_entry"), err.message
    assert repr(entry) in err.message and why in err.message


def test_a_nul_in_a_name_is_422() -> None:
    data = make_zip({**BASIC, "files/aXb": "x"}).replace(b"files/aXb", b"files/a\0b")
    err = refused(data)
    assert err.code == "unsafe_archive_entry" and "NUL" in err.message


@pytest.mark.parametrize(("mode", "kind"), [
    (stat.S_IFLNK | 0o777, "symlink"), (stat.S_IFCHR | 0o600, "device"), (stat.S_IFBLK | 0o600, "device"),
    (stat.S_IFIFO | 0o600, "FIFO"), (stat.S_IFSOCK | 0o600, "socket"),
])
def test_links_and_special_files_are_422(mode: int, kind: str) -> None:
    err = refused(make_zip([*BASIC.items(), (info("files/link", mode), "/etc/passwd")]))
    assert (err.status, err.code) == (422, "unsafe_archive_entry") and kind in err.message
    assert "'files/link'" in err.message
    # A regular file with Unix permissions is fine, as is a directory entry.
    ok = make_zip([*BASIC.items(), (info("files/run.sh", stat.S_IFREG | 0o755), "x"),
                   (info("files/d/", stat.S_IFDIR | 0o755), "")])
    assert [f.name for f in problem_from_zip(ok, S).options.files] == ["run.sh"]


def test_encrypted_entries_are_422() -> None:
    data = bytearray(make_zip(BASIC, zipfile.ZIP_STORED))
    first = _central_records(bytes(data))[0]
    struct.pack_into("<H", data, first + 8, 1)  # the encryption flag
    err = refused(bytes(data))
    assert err.code == "unsafe_archive_entry" and "encrypted" in err.message


def test_other_entries_are_422_naming_every_one() -> None:
    extra = {"README.md": "x", "tests/1.txt": "x", "tests/sub/1.in": "x", "solution.cpp": "x", "Tests/3.in": "x",
             "problem.yaml": "x", "files/main.cpp": "x", "files/a b": "x"}
    err = refused(make_zip({**BASIC, **extra}))
    assert (err.status, err.code) == (422, "unexpected_archive_entry")
    assert {d["entry"] for d in err.details} == set(extra)
    for name in list(extra)[:5]:
        assert repr(name) in err.message
    assert "allowed: tests/N.in" in err.message and "reserved" in err.message


def test_duplicate_entries_are_422() -> None:
    with pytest.warns(UserWarning):  # zipfile warns about writing a duplicate name
        data = make_zip([*BASIC.items(), ("tests/1.in", "again")])
    err = refused(data)
    assert (err.status, err.code) == (422, "unexpected_archive_entry") and "duplicate" in err.message


def test_one_checker_one_interactor() -> None:
    err = refused(make_zip({**BASIC, "checker.c": "x", "checker.cpp": "y"}))
    assert err.status == 422 and "'checker.c' and 'checker.cpp'" in err.message
    err = refused(make_zip({**BASIC, "checker.java": "class C {}"}))
    assert (err.status, err.code) == (422, "unsupported_judge_language") and "checker.py" in err.message
    err = refused(make_zip({**BASIC, "interactor.c": b"\xff\xfe"}))
    assert err.status == 422 and "UTF-8" in err.message
    err = refused(make_zip({**BASIC, "checker.c": "   "}))
    assert (err.status, err.code) == (422, "empty_code")


def test_problem_json_and_the_program_entries_must_agree() -> None:
    def meta(checker: dict[str, Any]) -> bytes:
        return make_zip({**BASIC, "checker.c": "int main(){}", "problem.json": json.dumps({"checker": checker})})

    assert refused(meta({"language": "python"})).code == "invalid_problem_json"
    assert "both give" in refused(meta({"code": "int main(){}"})).message
    assert problem_from_zip(meta({"language": "C"}), S).options.checker is not None
    only_json = make_zip({**BASIC, "problem.json": json.dumps({"checker": {"language": "py", "code": "print(1)"}})})
    assert problem_from_zip(only_json, S).options.checker.language == "python"  # type: ignore[union-attr]
    files_only = make_zip({**BASIC, "problem.json": json.dumps({"checker": {"files": []}})})
    assert "has no code" in refused(files_only).message


# --- tests numbering ----------------------------------------------------------------------------
@pytest.mark.parametrize(("entries", "words"), [
    ({"tests/1.in": "", "tests/1.out": "", "tests/3.in": "", "tests/3.out": ""}, ["'tests/2.in' is missing"]),
    ({"tests/1.in": "", "tests/2.in": "", "tests/2.out": ""}, ["'tests/1.out' is missing", "tests/1.ans"]),
    ({"tests/1.in": "", "tests/1.out": "", "tests/1.ans": ""}, ["'tests/1.ans' and tests/1.out both"]),
    ({"tests/2.in": "", "tests/2.out": ""}, ["'tests/1.in' is missing", "'tests/1.out' is missing"]),
    ({"tests/1.out": ""}, ["'tests/1.in' is missing"]),
])
def test_numbering_and_pairs_are_422(entries: dict[str, str], words: list[str]) -> None:
    err = refused(make_zip(entries))
    assert (err.status, err.code) == (422, "invalid_tests"), err.message
    for word in words:
        assert word in err.message


@pytest.mark.parametrize("name", ["tests/01.in", "tests/0.in", "tests/007.out"])
def test_leading_zeros_are_422(name: str) -> None:
    err = refused(make_zip({**BASIC, name: ""}))
    assert err.code == "unexpected_archive_entry" and "without leading zeros" in err.message


def test_no_tests_is_422() -> None:
    err = refused(make_zip({"problem.json": "{}", "files/a": "x"}))
    assert (err.status, err.code) == (422, "no_tests")


# --- caps after decompression ---------------------------------------------------------------
def test_too_many_tests_or_files_or_entries_are_413() -> None:
    tests = {f"tests/{n}.{s}": "" for n in range(1, 4) for s in ("in", "out")}
    assert (refused(make_zip(tests), Settings(max_tests=2)).code) == "too_many_tests"
    files = {**BASIC, **{f"files/f{n}": "" for n in range(3)}}
    err = refused(make_zip(files), Settings(max_files=2))
    assert (err.status, err.code) == (413, "too_many_files")
    err = refused(make_zip(files), Settings(max_archive_entries=6))
    assert (err.status, err.code) == (413, "too_many_entries") and "6 entries" in err.message
    assert problem_from_zip(make_zip(files), Settings(max_archive_entries=7))


def test_the_entry_count_is_the_directorys_not_what_the_end_record_claims() -> None:
    """zipfile parses the whole central directory whatever count the end record states: the
    count that matters is the records', which count_entries walks without building them."""
    data = bytearray(make_zip({f"files/f{n}": "" for n in range(20)}))
    end = bytes(data).rfind(b"PK\x05\x06")
    struct.pack_into("<2H", data, end + 8, 1, 1)  # "1 entry"
    assert len(zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()) == 20
    with pytest.raises(TooManyEntries):
        count_entries(bytes(data), 10)
    assert refused(bytes(data), Settings(max_archive_entries=10)).code == "too_many_entries"


def _as_zip64(data: bytes) -> bytes:
    """The same archive with a zip64 end record (what zipfile writes past 65535 entries)."""
    end = data.rfind(b"PK\x05\x06")
    count, size, offset = struct.unpack_from("<H2L", data, end + 10)
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    tail = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:end] + record + locator + tail


def test_count_entries_walks_what_zipfile_walks() -> None:
    plain = make_zip({**BASIC, "files/a": "x"})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.comment = b"an archive comment"
        for name, text in BASIC.items():
            archive.writestr(name, text)
    for data in (plain, _as_zip64(plain), buf.getvalue(), b"#!/bin/sh\nprepended\n" + plain):
        assert count_entries(data, 100) == len(zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert problem_from_zip(_as_zip64(plain), S).options.files[0].name == "a"
    # An end-record signature inside the comment misleads zipfile too: both refuse the archive.
    fake = plain[:-2] + struct.pack("<H", 26) + b"PK\x05\x06 looks like an end"
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(fake))
    with pytest.raises(NotAZip):
        count_entries(fake, 100)
    for bad in (b"", b"PK\x05\x06", b"not a zip at all", plain[:-30]):
        with pytest.raises(NotAZip):
            count_entries(bad, 100)


def test_data_caps_are_413_naming_the_entry() -> None:
    small = Settings(max_total_input_bytes=100, max_expected_bytes_per_test=10, max_files_bytes=8, max_code_bytes=16)
    err = refused(make_zip({"tests/1.in": "x" * 60, "tests/1.out": "", "tests/2.in": "x" * 50, "tests/2.out": ""}),
                  small)
    assert (err.status, err.code) == (413, "input_too_large") and "tests/2.in" in err.message
    err = refused(make_zip({"tests/1.in": "", "tests/1.ans": "y" * 11}), small)
    assert (err.status, err.code) == (413, "expected_too_large") and "tests/1.ans" in err.message
    err = refused(make_zip({"tests/1.in": "x" * 95, "tests/1.out": "y" * 6}), small)
    assert err.code == "input_too_large" and "tests/1.out" in err.message
    err = refused(make_zip({**BASIC, "files/a": "12345", "files/b": "6789"}), small)
    assert (err.status, err.code) == (413, "files_too_large")
    err = refused(make_zip({**BASIC, "checker.c": "x" * 17}), small)
    assert (err.status, err.code) == (413, "code_too_large") and "checker.c" in err.message
    assert problem_from_zip(make_zip({"tests/1.in": "x" * 90, "tests/1.out": "y" * 10}), small)


def test_a_zip_bomb_is_refused_at_the_cap_without_inflating_it() -> None:
    """1 GiB of zeros in a 1 MiB archive whose headers state the real size: refused with 413
    once the default 64 MiB cap is passed, after inflating no more than that (~0.3 s), holding no
    more than the cap."""
    raw, crc = deflate_bomb(1024)
    data = raw_zip([("tests/1.in", raw, crc, 1024 * MiB), ("tests/1.out", b"\x03\x00", 0, 0)])
    assert len(data) < 1.1 * MiB
    tracemalloc.start()
    start = time.monotonic()
    try:
        err = refused(data)
        took = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (err.status, err.code) == (413, "input_too_large") and "tests/1.in" in err.message
    assert took < 2, took
    assert peak < S.max_total_input_bytes + 8 * MiB, peak


def test_many_small_bombs_share_one_budget() -> None:
    raw, crc = deflate_bomb(16)
    entries = [(f"tests/{n}.in", raw, crc, 16 * MiB) for n in range(1, 11)]
    entries += [(f"tests/{n}.out", b"\x03\x00", 0, 0) for n in range(1, 11)]
    err = refused(raw_zip(entries))
    assert (err.status, err.code) == (413, "input_too_large") and "tests/5.in" in err.message


def test_header_sizes_are_not_trusted() -> None:
    # An entry whose headers claim 3 GB but that inflates to a few bytes: its real size counts.
    data = bytearray(make_zip(BASIC))
    for pos in _central_records(bytes(data)):
        struct.pack_into("<L", data, pos + 24, 3_000_000_000)
    assert [t.input for t in problem_from_zip(bytes(data), S).tests] == [b"1 2\n", b"5 5\n"]
    # One that claims 1 byte but inflates to more: never more than that is taken (and its CRC fails).
    raw, crc = deflate_bomb(4)
    err = refused(raw_zip([("tests/1.in", raw, crc, 1), ("tests/1.out", b"\x03\x00", 0, 0)]))
    assert (err.status, err.code) == (422, "invalid_archive")


# --- corrupt archives and problem.json ----------------------------------------------------------
def test_corrupt_archives_are_422() -> None:
    good = make_zip(BASIC)
    flipped = bytearray(good)
    start = good.index(b"tests/1.in") + len("tests/1.in")
    flipped[start] ^= 0xFF  # the first byte of its deflated data
    for data in (b"", b"hello", b"PK\x03\x04garbage", good[: len(good) // 2], bytes(flipped)):
        err = refused(data)
        assert (err.status, err.code) == (422, "invalid_archive"), (data[:20], err.message)


@pytest.mark.parametrize(("text", "words"), [
    ("{", ["problem.json is not valid JSON"]),
    ("", ["problem.json is empty"]),
    ("[]", ["problem.json must be a JSON object"]),
    ('{"tests": [{"points": 1}]}', ["tests lists 1 entries for 2 tests"]),
    ('{"test_cases": []}', ["problem.json: test_cases", "unknown field"]),
    ('{"tests": [{"points": -1}, {}]}', ["problem.json: tests.0.points"]),
    ('{"compare": "fuzzy"}', ["problem.json: compare"]),
    ('{"limits": {"time_ms": 999999}}', ["limits.time_ms = 999999"]),
    ('{"groups": [{"name": "g", "points": 1}]}', ["'g' has no tests"]),
    ('{"tests": [{"group": "x"}, {}]}', ["problem.json tests.0.group 'x'"]),
    ('{"tests": [{"points": NaN}, {}]}', ["not valid JSON"]),
])
def test_invalid_problem_json_is_422(text: str, words: list[str]) -> None:
    err = refused(make_zip({**BASIC, "problem.json": text}))
    assert err.status == 422, err.message
    for word in words:
        assert word in err.message, err.message


def test_problem_json_has_a_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    from api_gateway import problem_upload

    monkeypatch.setattr(problem_upload, "problem_json_cap", lambda settings: 10)
    err = refused(make_zip({**BASIC, "problem.json": '{"compare":  "lines"}'}))
    assert (err.status, err.code) == (413, "problem_json_too_large")
