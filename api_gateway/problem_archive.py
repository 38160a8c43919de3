"""A problem as a zip archive (SPEC §7): which entries it may hold, and reading them within
the caps.

Entries: `tests/N.in` with `tests/N.out` or `tests/N.ans` (N = 1, 2, ... without gaps or
leading zeros), `problem.json`, one `checker.*`, one `interactor.*`, and `files/...` (the
problem's files, named without `files/`; a zip there is a file like any other). Directory
entries of those (`tests/`, `files/`, `files/sub/`) are allowed and ignored. Nothing else:
no absolute paths, `..`, backslashes or drive letters, no symlinks, devices, FIFOs or
sockets (the Unix mode in the entry's external attributes), no duplicates, no encryption.

Sizes are what decompression yields, never what the headers claim: every member is read
through a bounded reader that stops at the remaining cap (413), so an archive that inflates
past it costs at most the cap in memory and time."""

from __future__ import annotations

import io
import lzma
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from api_gateway.errors import APIError
from api_gateway.judge_rules import RESERVED_NAMES, name_problem
from api_gateway.zip_directory import NotAZip, TooManyEntries, count_entries
from shared.settings import Settings

_TEST = re.compile(r"tests/([0-9]+)\.(in|out|ans)")
_PROGRAM = re.compile(r"(checker|interactor)\.([^/]+)")
_DRIVE = re.compile(r"[A-Za-z]:")
_CHUNK = 1 << 20
_SHOWN = 10
_ALLOWED = "allowed: tests/N.in with tests/N.out or tests/N.ans, problem.json, checker.*, interactor.*, files/..."
_BAD_DATA = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
             NotImplementedError, ValueError, struct.error)
_FILE_TYPES = {stat.S_IFLNK: "a symlink", stat.S_IFCHR: "a device file", stat.S_IFBLK: "a device file",
               stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket"}


@dataclass
class ArchiveContents:
    """What an archive holds, read and within the caps (not yet validated as a problem)."""

    tests: list[tuple[bytes, bytes]] = field(default_factory=list)  # (input, answer) of tests 1..N
    problem_json: bytes | None = None
    programs: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # role -> (entry, source)
    files: list[tuple[str, bytes]] = field(default_factory=list)  # (name without files/, data)


@dataclass
class _Plan:
    tests: dict[int, dict[str, zipfile.ZipInfo]] = field(default_factory=dict)  # N -> {"in"|"out"|"ans": entry}
    problem_json: zipfile.ZipInfo | None = None
    programs: dict[str, zipfile.ZipInfo] = field(default_factory=dict)
    files: list[zipfile.ZipInfo] = field(default_factory=list)


def read_archive(body: bytes, settings: Settings, problem_json_cap: int) -> ArchiveContents:
    """The archive's contents; 413 over a cap, 422 for a corrupt archive or a refused entry."""
    try:
        count_entries(body, settings.max_archive_entries)
    except TooManyEntries:
        raise APIError(413, "too_many_entries",
                       f"the archive has more than {settings.max_archive_entries} entries") from None
    except NotAZip as exc:
        raise APIError(422, "invalid_archive", f"the body is not a readable zip archive: {exc}") from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
    except _BAD_DATA as exc:
        raise APIError(422, "invalid_archive", f"the body is not a readable zip archive: {exc}") from None
    with archive:
        plan = _plan(archive.infolist(), settings)
        return _read_all(archive, plan, settings, problem_json_cap)


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry is unsafe to take at all, or None."""
    name = info.orig_filename
    kind = _FILE_TYPES.get(stat.S_IFMT(info.external_attr >> 16))
    checks = (
        ("\0" in name, "has a NUL byte in its name"),
        ("\\" in name, "has a backslash (paths use '/')"),
        (name.startswith("/"), "is an absolute path"),
        (_DRIVE.match(name) is not None, "starts with a drive letter"),
        (".." in name.split("/"), "has a '..' segment"),
        (kind is not None, f"is {kind}; only regular files and directories are taken"),
        (bool(info.flag_bits & 0x1), "is encrypted"),
    )
    return next((why for bad, why in checks if bad), None)


def _name_problem(name: str) -> str | None:
    """Why a safe entry's name is not one a problem archive may have, or None."""
    if name in ("tests/", "files/", "problem.json") or _PROGRAM.fullmatch(name):
        return None
    if name.startswith("files/"):
        rest = name.removeprefix("files/")
        problem = name_problem(rest.removesuffix("/"), RESERVED_NAMES if not name.endswith("/") else frozenset())
        return None if problem is None else f"(file {rest!r}) {problem}"
    test = _TEST.fullmatch(name)
    if test is not None:
        return None if not test.group(1).startswith("0") else \
            "test numbers are 1, 2, ... in decimal without leading zeros"
    return f"is not an allowed entry ({_ALLOWED})"


def _refuse_entries(code: str, problems: list[tuple[str, str]], what: str) -> APIError:
    shown = "; ".join(f"{name!r} {why}" for name, why in problems[:_SHOWN])
    more = f" (and {len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
    return APIError(422, code, f"{what}: {shown}{more}",
                    details=[{"entry": name, "problem": why} for name, why in problems[:100]])


def _plan(infos: list[zipfile.ZipInfo], settings: Settings) -> _Plan:
    unsafe = [(i.orig_filename, why) for i in infos if (why := _entry_problem(i)) is not None]
    if unsafe:
        raise _refuse_entries("unsafe_archive_entry", unsafe, "archive entries refused")
    seen: set[str] = set()
    refused: list[tuple[str, str]] = []
    for info in infos:
        if info.orig_filename in seen:
            refused.append((info.orig_filename, "is a duplicate entry"))
        seen.add(info.orig_filename)
        why = _name_problem(info.orig_filename)
        if why is not None:
            refused.append((info.orig_filename, why))
    if refused:
        raise _refuse_entries("unexpected_archive_entry", refused, "archive entries refused")
    plan = _Plan()
    for info in infos:
        _place(plan, info)
    _check_tests(plan.tests, settings)
    if len(plan.files) > settings.max_files:
        raise APIError(413, "too_many_files",
                       f"files/: {len(plan.files)} files; at most {settings.max_files} are allowed")
    return plan


def _place(plan: _Plan, info: zipfile.ZipInfo) -> None:
    name = info.orig_filename
    if name.endswith("/"):
        return  # a directory entry of tests/ or files/
    if name == "problem.json":
        plan.problem_json = info
    elif (test := _TEST.fullmatch(name)) is not None:
        plan.tests.setdefault(int(test.group(1)), {})[test.group(2)] = info
    elif (program := _PROGRAM.fullmatch(name)) is not None:
        role = program.group(1)
        if role in plan.programs:
            raise APIError(422, "unexpected_archive_entry",
                           f"{plan.programs[role].orig_filename!r} and {name!r}: an archive has one {role} at most")
        plan.programs[role] = info
    else:
        plan.files.append(info)


def _check_tests(tests: dict[int, dict[str, zipfile.ZipInfo]], settings: Settings) -> None:
    if len(tests) > settings.max_tests:
        raise APIError(413, "too_many_tests", f"the archive has {len(tests)} tests; at most {settings.max_tests} "
                                              "are allowed")
    if not tests:
        raise APIError(422, "no_tests", "the archive has no tests; a problem needs tests/1.in and tests/1.out "
                                        "(or tests/1.ans), tests/2.in ...")
    problems: list[tuple[str, str]] = []
    for n in range(1, max(tests) + 1):
        parts = tests.get(n, {})
        if "in" not in parts:
            problems.append((f"tests/{n}.in", "is missing (tests are numbered 1..N without gaps)"))
        if "out" in parts and "ans" in parts:
            problems.append((f"tests/{n}.ans", f"and tests/{n}.out both given; a test has one answer"))
        elif "out" not in parts and "ans" not in parts:
            problems.append((f"tests/{n}.out", f"is missing (or tests/{n}.ans): every test needs its answer"))
    if problems:
        raise _refuse_entries("invalid_tests", problems, "the archive's tests")


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, over: Callable[[], APIError]) -> bytes:
    """The member's bytes as decompression yields them; `over()` is raised as soon as they
    pass `limit` (the header's sizes are not trusted for anything)."""
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(min(_CHUNK, limit - size + 1)):
                size += len(chunk)
                if size > limit:
                    raise over()
                chunks.append(chunk)
    except _BAD_DATA as exc:
        raise APIError(422, "invalid_archive", f"{info.orig_filename!r}: cannot be read: {exc}") from None
    return b"".join(chunks)


def _read_all(archive: zipfile.ZipFile, plan: _Plan, settings: Settings, problem_json_cap: int) -> ArchiveContents:
    out = ArchiveContents()
    out.tests = _read_tests(archive, plan, settings)
    if plan.problem_json is not None:
        out.problem_json = _read(archive, plan.problem_json, problem_json_cap, lambda: APIError(
            413, "problem_json_too_large", f"problem.json is over {problem_json_cap} bytes"))
    for role, info in plan.programs.items():
        source = _read(archive, info, settings.max_code_bytes, lambda name=info.orig_filename: APIError(
            413, "code_too_large", f"{name}: over {settings.max_code_bytes} bytes; at most that much code is allowed"))
        out.programs[role] = (info.orig_filename, source)
    left = settings.max_files_bytes
    for info in plan.files:
        data = _read(archive, info, left, lambda: APIError(
            413, "files_too_large", f"files/: the files hold more than {settings.max_files_bytes} bytes in all"))
        left -= len(data)
        out.files.append((info.orig_filename.removeprefix("files/"), data))
    return out


def _read_tests(archive: zipfile.ZipFile, plan: _Plan, settings: Settings) -> list[tuple[bytes, bytes]]:
    """Inputs and answers in test order, within the total and the per-answer caps."""
    total_cap, answer_cap = settings.max_total_input_bytes, settings.max_expected_bytes_per_test
    left = total_cap
    tests: list[tuple[bytes, bytes]] = []

    def over_total(name: str) -> Callable[[], APIError]:
        return lambda: APIError(413, "input_too_large",
                                f"{name}: the tests' inputs and answers total more than {total_cap} bytes "
                                "after decompression")

    for n in sorted(plan.tests):
        parts = plan.tests[n]
        data_in = _read(archive, parts["in"], left, over_total(f"tests/{n}.in"))
        left -= len(data_in)
        answer = parts.get("out") or parts["ans"]
        over = over_total(answer.orig_filename) if left < answer_cap else lambda name=answer.orig_filename: APIError(
            413, "expected_too_large", f"{name}: over {answer_cap} bytes; at most that much per answer is allowed")
        data_answer = _read(archive, answer, min(left, answer_cap), over)
        left -= len(data_answer)
        tests.append((data_in, data_answer))
    return tests
