"""The judging fields of a submission or a problem (SPEC §7 "Precise rules"): additional files,
checker and interactor programs, groups and points. The same rules whichever body (JSON
submission, JSON problem, problem archive) carried them; every refusal names the field or
file and says what is allowed, and comes before anything is stored."""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Sequence

from api_gateway.checks import check_points, utf8_size
from api_gateway.errors import APIError
from shared.judge_config import (
    BASE64_PATTERN,
    FILE_NAME,
    JUDGE_PROGRAM_LANGUAGES,
    MAX_FILE_NAME_BYTES,
    RESERVED_NAMES,
    Encoding,
    Group,
    JudgeProgram,
    SourceFile,
)
from shared.language_spec import LanguageSpec
from shared.languages import canonical_language, language
from shared.settings import Settings

_BASE64 = re.compile(BASE64_PATTERN)


@functools.cache
def _spec(lang: str) -> LanguageSpec | None:
    """The executor's language spec, when its package is importable here (it is in a source
    checkout; the gateway's container image ships without the executors)."""
    try:
        module = importlib.import_module(f"{language(lang).package}.spec")
    except ImportError:
        return None
    spec = getattr(module, "SPEC", None)
    return spec if isinstance(spec, LanguageSpec) else None


def reserved_names(lang: str | None = None, code: str = "") -> frozenset[str]:
    """The fixed names plus, for a submission, the name its own source is written as (a Java
    program's public class decides its file name, e.g. Solver.java)."""
    spec = _spec(lang) if lang else None
    return RESERVED_NAMES | {spec.source_name(code)} if spec is not None else RESERVED_NAMES


def name_problem(name: str, reserved: frozenset[str]) -> str | None:
    """Why `name` cannot be an extra file's name, or None when it can."""
    if name.startswith("/"):
        return "must be a relative path (no leading '/')"
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_NAME_BYTES:
        return f"is {size} bytes; at most {MAX_FILE_NAME_BYTES} are allowed"
    if FILE_NAME.fullmatch(name) is None:
        return "must be segments of A-Z a-z 0-9 . _ - joined by '/'"
    if any(part in (".", "..") for part in name.split("/")):
        return "must not have a '.' or '..' segment"
    if name in reserved or name.endswith(".class"):
        shown = ", ".join(sorted(reserved))
        return f"is reserved for the program's source or build output ({shown}, *.class)"
    return None


def file_bytes(file: SourceFile, field: str) -> bytes:
    # The published pattern, not b64decode's leniency (it takes extra '=' padding).
    if file.encoding == Encoding.BASE64 and _BASE64.fullmatch(file.content) is None:
        raise APIError(422, "invalid_base64", f"{field}: invalid base64; encoding base64 needs standard base64 "
                                              "(A-Z a-z 0-9 + /, '=' padding, no line breaks)")
    try:
        return file.data()
    except ValueError as exc:
        raise APIError(422, "invalid_base64", f"{field}: {exc}; encoding base64 needs standard base64 "
                                              "(A-Z a-z 0-9 + /, '=' padding, no line breaks)") from None
    except UnicodeEncodeError:
        raise APIError(422, "invalid_unicode",
                       f"{field}: contains a lone UTF-16 surrogate; strings must be valid Unicode") from None


def check_files(files: Sequence[SourceFile], settings: Settings, where: str,
                reserved: frozenset[str] = RESERVED_NAMES) -> int:
    """Count, names, duplicates, encoding and total size of one file set (of a submission,
    problem, checker or interactor); returns its bytes."""
    if len(files) > settings.max_files:
        raise APIError(413, "too_many_files", f"{where}: {len(files)} files; at most {settings.max_files} are allowed")
    seen: dict[str, int] = {}
    for i, file in enumerate(files):
        problem = name_problem(file.name, reserved)
        if problem is not None:
            raise APIError(422, "invalid_file_name", f"{where}.{i}.name {file.name!r} {problem}",
                           details={"field": f"{where}.{i}.name"})
        if file.name in seen:
            raise APIError(422, "duplicate_file", f"{where}.{i}.name {file.name!r}: the same name as "
                                                  f"{where}.{seen[file.name]}; names must be unique")
        seen[file.name] = i
    _check_nesting(seen, where)
    total = 0
    for i, file in enumerate(files):
        total += len(file_bytes(file, f"{where}.{i}"))
        if total > settings.max_files_bytes:
            raise APIError(413, "files_too_large",
                           f"{where}: the files hold more than {settings.max_files_bytes} bytes in all")
    return total


def _check_nesting(names: Iterable[str], where: str) -> None:
    """A name that is also a directory of another (`a` and `a/b`) cannot be written."""
    files = set(names)
    for name in files:
        parts = name.split("/")
        for end in range(1, len(parts)):
            directory = "/".join(parts[:end])
            if directory in files:
                raise APIError(422, "invalid_file_name",
                               f"{where}: {directory!r} is a file and also the directory of {name!r}")


def check_program(program: JudgeProgram | None, role: str, settings: Settings) -> JudgeProgram | None:
    """A checker or interactor: its language (canonical), code and files."""
    if program is None:
        return None
    lang = canonical_language(program.language)
    if lang not in JUDGE_PROGRAM_LANGUAGES:
        raise APIError(422, "unsupported_judge_language",
                       f"{role}.language {program.language!r}: a {role} is written in "
                       f"{', '.join(JUDGE_PROGRAM_LANGUAGES)}", details={"supported": list(JUDGE_PROGRAM_LANGUAGES)})
    if not program.code.strip():
        raise APIError(422, "empty_code", f"{role}.code must not be empty")
    size = utf8_size(program.code, f"{role}.code")
    if size > settings.max_code_bytes:
        raise APIError(413, "code_too_large",
                       f"{role}.code is {size} bytes; at most {settings.max_code_bytes} bytes are allowed")
    check_files(program.files, settings, f"{role}.files")
    return program.model_copy(update={"language": lang})


def check_groups(groups: Sequence[Group], test_groups: Sequence[str | None], tests_field: str) -> None:
    """Names unique, dependencies known and acyclic, every test's group known, no group
    without tests. `test_groups[i]` is test i+1's group; `tests_field` names where they are."""
    index: dict[str, int] = {}
    for i, group in enumerate(groups):
        check_points(group.points, f"groups.{i}.points")
        if group.name in index:
            raise APIError(422, "invalid_groups", f"groups.{i}.name {group.name!r}: the same name as "
                                                  f"groups.{index[group.name]}; group names must be unique")
        index[group.name] = i
    known = ", ".join(repr(g.name) for g in groups) or "none are defined"
    for i, group in enumerate(groups):
        for dep in group.depends_on:
            if dep not in index:
                raise APIError(422, "invalid_groups",
                               f"groups.{i} {group.name!r}: depends_on names an unknown group {dep!r} ({known})")
    cycle = dependency_cycle(groups)
    if cycle:
        raise APIError(422, "invalid_groups", f"groups: dependency cycle {' -> '.join(map(repr, cycle))}")
    for n, name in enumerate(test_groups):
        if name is not None and name not in index:
            raise APIError(422, "invalid_groups",
                           f"{tests_field}.{n}.group {name!r} is not one of the groups ({known})")
    used = set(test_groups)
    for i, group in enumerate(groups):
        if group.name not in used:
            raise APIError(422, "invalid_groups", f"groups.{i} {group.name!r} has no tests; give tests "
                                                  f"\"group\": {group.name!r} or remove the group")


def dependency_cycle(groups: Sequence[Group]) -> list[str]:
    """One cycle of depends_on as [a, b, ..., a], or [] (iterative depth-first search)."""
    deps = {g.name: list(g.depends_on) for g in groups}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in deps:
        if state.get(root):
            continue
        path, stack = [root], [iter(deps[root])]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt) and nxt in deps:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(deps[nxt]))
    return []
