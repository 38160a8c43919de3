"""A PUT /problems body, JSON or zip, made into a validated shared.problems.ProblemData: the
§3 caps on the tests, the §7 rules on files, checker, interactor and groups, the limit
ranges. Both forms end in `build_problem`, so they obey the same rules and the same content
gets the same version whichever form carried it."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import BaseModel, ValidationError

from api_gateway.checks import check_points, check_unicode, load_json
from api_gateway.errors import APIError, describe_validation_errors
from api_gateway.judge_rules import check_files, check_groups, check_program
from api_gateway.problem_archive import ArchiveContents, read_archive
from api_gateway.problem_models import ArchiveProgram, ProblemJson, ProblemRequest
from api_gateway.validation import check_test_data, judging_body_bytes, resolve_limits
from shared.judge_config import Encoding, JudgeOptions, JudgeProgram, SourceFile
from shared.languages import canonical_language
from shared.models import Limits
from shared.problems import ProblemData, TestData
from shared.settings import Settings

# A checker's or interactor's language, from its entry's extension.
EXTENSION_LANGUAGES = {"c": "c", "cpp": "cpp", "py": "python"}


def problem_json_cap(settings: Settings) -> int:
    """problem.json holds the judging fields (files included) and a few bytes per test."""
    return judging_body_bytes(settings) + 1024 * 1024


def max_problem_body_bytes(settings: Settings) -> int:
    """The cap of a PUT /problems body, JSON or zip, applied before it is parsed: the test data
    as escaped JSON text, the judging fields, and room for names. A zip of the same content is
    no larger (deflate adds a few bytes per entry at worst)."""
    return 2 * settings.max_total_input_bytes + problem_json_cap(settings)


def _validated(model: type[BaseModel], raw: Any, source: str | None = None) -> Any:
    """`raw` as `model`; `source` names the document when it is not the request body."""
    if not isinstance(raw, dict):
        raise APIError(422, "validation_error", f"{source or 'request body'} must be a JSON object")
    check_unicode(raw, source or "body")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        message, details = describe_validation_errors(exc.errors())
        if source is None:
            raise APIError(422, "validation_error", message, details) from None
        raise APIError(422, "invalid_problem_json", f"{source}: {message}", details) from None


def problem_from_json(body: bytes, settings: Settings) -> ProblemData:
    req: ProblemRequest = _validated(ProblemRequest, load_json(body, "request body"))
    check_test_data(req.test_cases, settings)
    tests = [TestData(input=case.input.encode(), answer=(case.expected or "").encode(), points=case.points,
                      group=case.group) for case in req.test_cases]
    options = JudgeOptions(files=req.files, checker=req.checker, interactor=req.interactor, groups=req.groups,
                           stop_on_first_failure=req.stop_on_first_failure)
    return build_problem(options, req.limits, req.compare, tests, settings, "test_cases")


def problem_from_zip(body: bytes, settings: Settings) -> ProblemData:
    contents = read_archive(body, settings, problem_json_cap(settings))
    meta = ProblemJson()
    if contents.problem_json is not None:
        raw = load_json(contents.problem_json, "problem.json", "invalid_problem_json")
        meta = _validated(ProblemJson, raw, "problem.json")
    if meta.tests and len(meta.tests) != len(contents.tests):
        raise APIError(422, "invalid_problem_json",
                       f"problem.json: tests lists {len(meta.tests)} entries for {len(contents.tests)} tests; "
                       "give one {\"points\", \"group\"} per test, in order, or none")
    per_test = meta.tests or [None] * len(contents.tests)
    tests = [TestData(input=data_in, answer=answer, **(t.model_dump() if t is not None else {}))
             for (data_in, answer), t in zip(contents.tests, per_test, strict=True)]
    options = JudgeOptions(
        files=[file_from_bytes(name, data) for name, data in contents.files] + meta.files,
        checker=_archive_program(contents, meta.checker, "checker"),
        interactor=_archive_program(contents, meta.interactor, "interactor"),
        groups=meta.groups,
        stop_on_first_failure=meta.stop_on_first_failure,
    )
    return build_problem(options, meta.limits, meta.compare, tests, settings, "problem.json tests")


def _archive_program(contents: ArchiveContents, meta: ArchiveProgram | None, role: str) -> JudgeProgram | None:
    """A checker or interactor from its archive entry (language from the extension) and
    problem.json's field (more files), or from problem.json alone (language and code)."""
    entry = contents.programs.get(role)
    if entry is None:
        if meta is None:
            return None
        if meta.code is None or meta.language is None:
            raise APIError(422, "invalid_problem_json",
                           f"problem.json: {role} has no code; add {role}.cpp, {role}.c or {role}.py to the "
                           f"archive, or give both {role}.language and {role}.code")
        return JudgeProgram(language=meta.language, code=meta.code, files=meta.files)
    name, source = entry
    lang = EXTENSION_LANGUAGES.get(name.rsplit(".", 1)[-1])
    if lang is None:
        raise APIError(422, "unsupported_judge_language",
                       f"{name!r}: a {role} is written in c ({role}.c), cpp ({role}.cpp) or python ({role}.py)")
    if meta is not None and meta.code is not None:
        raise APIError(422, "invalid_problem_json",
                       f"problem.json: {role}.code and the entry {name!r} both give the {role}'s code; give one")
    if meta is not None and meta.language is not None and canonical_language(meta.language) != lang:
        raise APIError(422, "invalid_problem_json",
                       f"problem.json: {role}.language {meta.language!r} contradicts the entry {name!r} ({lang})")
    try:
        code = source.decode("utf-8")
    except UnicodeDecodeError:
        raise APIError(422, "invalid_archive_entry", f"{name!r}: a {role}'s source must be UTF-8 text") from None
    return JudgeProgram(language=lang, code=code, files=meta.files if meta is not None else [])


def file_from_bytes(name: str, data: bytes) -> SourceFile:
    """A file as stored: UTF-8 text as it is, anything else as base64."""
    try:
        return SourceFile(name=name, content=data.decode("utf-8"))
    except UnicodeDecodeError:
        return SourceFile(name=name, content=base64.b64encode(data).decode("ascii"), encoding=Encoding.BASE64)


def _normalised(files: list[SourceFile]) -> list[SourceFile]:
    """The same bytes are the same file whether sent as text or base64 (and so the same version)."""
    return [file_from_bytes(f.name, f.data()) if f.encoding == Encoding.BASE64 else f for f in files]


def build_problem(options: JudgeOptions, limits: Limits, compare: str, tests: list[TestData], settings: Settings,
                  tests_field: str) -> ProblemData:
    """The problem, once every rule holds (the data caps were applied while reading it)."""
    if not tests:
        raise APIError(422, "no_tests", f"{tests_field}: a problem needs at least one test")
    for n, test in enumerate(tests):
        check_points(test.points, f"{tests_field}.{n}.points")
    check_groups(options.groups, [t.group for t in tests], tests_field)
    resolve_limits(limits, settings)  # the ranges only: the problem keeps what it gave
    check_files(options.files, settings, "files")
    checker = check_program(options.checker, "checker", settings)
    interactor = check_program(options.interactor, "interactor", settings)
    if checker is not None:
        checker = checker.model_copy(update={"files": _normalised(checker.files)})
    if interactor is not None:
        interactor = interactor.model_copy(update={"files": _normalised(interactor.files)})
    judged = options.model_copy(update={"files": _normalised(options.files), "checker": checker,
                                        "interactor": interactor})
    return ProblemData(options=judged, limits=limits, compare=compare, tests=tests)
