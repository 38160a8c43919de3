"""Validation of POST /submit beyond the model's shape: languages, caps, limit ranges
(settings, reported by /languages), the judging fields (api_gateway.judge_rules) and a
problem reference. Everything is checked before anything is stored.

Status codes: 400 unknown language; 404 a problem_id no problem has; 413 when a size or count
cap is exceeded (code bytes, number of test cases, bytes of test data, files, request body);
422 for anything malformed or out of range (missing/empty code, stdin together with
test_cases, limits outside their range, bad file names, groups, judge programs, test_cases or
a checker together with problem_id).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from api_gateway.checks import check_points, check_problem_id, check_unicode, load_json, utf8_size
from api_gateway.errors import APIError, describe_validation_errors
from api_gateway.function_rules import check_function
from api_gateway.judge_rules import check_files, check_groups, check_program, reserved_names
from shared.languages import ALIASES, LANGUAGES, canonical_language, language
from shared.limits import limit_ranges as shared_limit_ranges
from shared.models import JobRequest, Limits, ResolvedLimits, SubmitRequest, TestCase
from shared.settings import Settings

# A problem's record by id (shared.problems.ProblemStore.get), or None.
ProblemLookup = Callable[[str], "dict[str, Any] | None"]


def limit_ranges(settings: Settings, lang: str | None = None) -> dict[str, dict[str, int]]:
    """Allowed range and default of every limit (what /languages reports): the sandbox
    helper's ranges narrowed by the caps and, given a language, by its own bounds."""
    ranges = language(lang).limit_ranges(settings) if lang else shared_limit_ranges(settings)
    return {name: rng.as_dict() for name, rng in ranges.items()}


def _json_text_bytes(n: int) -> int:
    # JSON escaping roughly doubles worst-case text (\n, \", \\).
    return 2 * n


def judging_body_bytes(settings: Settings) -> int:
    """The most the judging fields of a body take: three file sets (the body's own, the
    checker's, the interactor's), each as base64 (4/3) or escaped text, and two programs."""
    file_set = _json_text_bytes(4 * settings.max_files_bytes // 3 + 4)
    return 3 * file_set + 2 * _json_text_bytes(settings.max_code_bytes)


def max_body_bytes(settings: Settings) -> int:
    """The cap of a /submit body, applied before it is parsed; 1 MiB for names and the rest."""
    data = _json_text_bytes(settings.max_code_bytes + settings.max_total_input_bytes)
    return data + judging_body_bytes(settings) + 1024 * 1024


def _supported_message() -> str:
    listed = "; ".join(f"{name} (aliases: {', '.join(a for a in ALIASES[name] if a != name)})" for name in LANGUAGES)
    return f"supported languages: {listed}"


@dataclass(frozen=True)
class Submission:
    request: JobRequest
    user_id: str | None
    idempotency_key: str | None
    total: int | None = None  # tests the job has, when not its own test_cases (a problem's)


def parse_body(body: bytes) -> Any:
    return load_json(body, "request body")


def validate_submission(raw: Any, settings: Settings, problems: ProblemLookup | None = None) -> Submission:
    """The job a /submit body asks for. `problems` reads a problem's record: a body with a
    problem_id judges against the problem's current version (its record has the version,
    test count, limits and compare mode; its test data is not read here)."""
    sub, canonical = _parse_submission(raw)
    _check_code(sub.code, settings)
    if sub.test_cases and sub.stdin:
        raise APIError(422, "stdin_with_test_cases",
                       "stdin is only for runs without test_cases; put the input in each test case instead")
    check_test_data(sub.test_cases, settings, utf8_size(sub.stdin, "stdin"))
    if sub.files:
        check_files(sub.files, settings, "files", reserved_names(canonical, sub.code))
    if sub.problem_id is None:
        return Submission(_inline_job(sub, canonical, settings), sub.user_id, sub.idempotency_key)
    record = _problem_record(sub, problems)
    return Submission(_problem_job(sub, canonical, settings, record), sub.user_id, sub.idempotency_key,
                      total=int(record["tests"]))


def _parse_submission(raw: Any) -> tuple[SubmitRequest, str]:
    """The body as the model, and its canonical language."""
    if not isinstance(raw, dict):
        raise APIError(422, "validation_error", "request body must be a JSON object")
    # Language first: the most useful error for a client talking to the wrong service.
    language = raw.get("language")
    if isinstance(language, str) and canonical_language(language) is None:
        raise APIError(
            400,
            "unsupported_language",
            f"unsupported language {language!r}; {_supported_message()}",
            details={"supported": list(LANGUAGES), "aliases": {k: list(v) for k, v in ALIASES.items()}},
        )
    check_unicode(raw)
    try:
        sub = SubmitRequest.model_validate(raw)
    except ValidationError as exc:
        message, details = describe_validation_errors(exc.errors())
        raise APIError(422, "validation_error", message, details) from None

    canonical = canonical_language(sub.language)
    if canonical is None:  # non-string language is caught by the model; keep the type checker honest
        raise APIError(400, "unsupported_language", f"unsupported language; {_supported_message()}")

    # user_id is the GSI's hash key: DynamoDB refuses an empty string there.
    for name in ("user_id", "idempotency_key"):
        value = getattr(sub, name)
        if value is not None and not value.strip():
            raise APIError(422, "validation_error", f"{name}: must not be empty (omit it instead)")
    return sub, canonical


def _inline_job(sub: SubmitRequest, canonical: str, settings: Settings) -> JobRequest:
    """A job with its own tests (or a plain run on stdin) and its own judging fields."""
    for n, case in enumerate(sub.test_cases):
        check_points(case.points, f"test_cases.{n}.points")
    check_groups(sub.groups, [case.group for case in sub.test_cases], "test_cases")
    if sub.function is not None:
        check_function(sub.function, sub.test_cases, with_judge=sub.checker is not None or sub.interactor is not None)
    for role in ("checker", "interactor"):
        if getattr(sub, role) is not None and not sub.test_cases:
            raise APIError(422, "judge_without_tests",
                           f"{role}: a {role} judges test cases; give test_cases (a run on stdin is not judged)")
    return JobRequest(
        language=canonical,
        code=sub.code,
        test_cases=sub.test_cases,
        stdin=sub.stdin,
        limits=resolve_limits(sub.limits, settings, canonical),
        compare=sub.compare,
        files=sub.files,
        checker=check_program(sub.checker, "checker", settings),
        interactor=check_program(sub.interactor, "interactor", settings),
        groups=sub.groups,
        stop_on_first_failure=sub.stop_on_first_failure,
        function=sub.function,
    )


def _problem_record(sub: SubmitRequest, problems: ProblemLookup | None) -> dict[str, Any]:
    """The record of the problem a submission names. The problem brings the tests and the
    judging, so the body may not bring its own."""
    problem_id = check_problem_id(str(sub.problem_id))
    if sub.test_cases:
        raise APIError(422, "test_cases_with_problem",
                       "test_cases: not allowed with problem_id (the problem's tests are used); omit one of them")
    if sub.stdin:
        raise APIError(422, "stdin_with_problem",
                       "stdin: not allowed with problem_id (the problem's tests are used); omit one of them")
    for field in ("checker", "interactor", "groups", "function"):
        if getattr(sub, field):
            raise APIError(422, "judging_with_problem",
                           f"{field}: not allowed with problem_id (the problem's judging is used); a submission "
                           "on a problem may bring files, limits, compare and stop_on_first_failure")
    if problems is None:
        raise RuntimeError("validate_submission needs a problem lookup for a body with problem_id")
    record = problems(problem_id)
    if record is None:
        raise APIError(404, "problem_not_found",
                       f"problem_id {problem_id!r}: no such problem (PUT /problems/{problem_id} creates it)")
    return record


def _problem_job(sub: SubmitRequest, canonical: str, settings: Settings, record: dict[str, Any]) -> JobRequest:
    """A job on the problem's current version: limits and compare from the submission where
    it gives them, else the problem's, else the defaults."""
    compare = sub.compare if "compare" in sub.model_fields_set else str(record.get("compare") or "lines")
    return JobRequest(
        language=canonical,
        code=sub.code,
        test_cases=[],
        limits=resolve_limits(sub.limits, settings, canonical, problem_limits=record.get("limits")),
        compare=compare,
        files=sub.files,
        stop_on_first_failure=sub.stop_on_first_failure,
        problem_id=str(record["problem_id"]),
        problem_version=str(record["version"]),
    )


def _check_code(code: str, settings: Settings) -> None:
    if not code.strip():
        raise APIError(422, "empty_code", "code must not be empty")
    code_bytes = utf8_size(code, "code")
    if code_bytes > settings.max_code_bytes:
        raise APIError(413, "code_too_large",
                       f"code is {code_bytes} bytes; at most {settings.max_code_bytes} bytes are allowed")


def check_test_data(cases: Sequence[TestCase], settings: Settings, extra_bytes: int = 0) -> int:
    """Test cases against the caps (413): their number, each expected output, and all input
    and expected bytes (plus `extra_bytes`, a run's stdin) together. Returns that total."""
    if len(cases) > settings.max_tests:
        raise APIError(413, "too_many_tests", f"{len(cases)} test cases; at most {settings.max_tests} are allowed")
    total = extra_bytes
    for n, case in enumerate(cases, start=1):
        expected_bytes = utf8_size(case.expected, f"test_cases.{n - 1}.expected") if case.expected is not None else 0
        if expected_bytes > settings.max_expected_bytes_per_test:
            raise APIError(413, "expected_too_large",
                           f"test case {n}: expected output is {expected_bytes} bytes; at most "
                           f"{settings.max_expected_bytes_per_test} bytes per test are allowed")
        total += utf8_size(case.input, f"test_cases.{n - 1}.input") + expected_bytes
    if total > settings.max_total_input_bytes:
        raise APIError(413, "input_too_large",
                       f"test input and expected output total {total} bytes; at most "
                       f"{settings.max_total_input_bytes} bytes are allowed")
    return total


def resolve_limits(limits: Limits, settings: Settings, lang: str | None = None,
                   problem_limits: dict[str, Any] | None = None) -> ResolvedLimits:
    """Every limit: the given one, else the problem's (if any), else the default; each within
    its range for the language (422 naming it otherwise: never silently changed)."""
    ranges = limit_ranges(settings, lang)
    own = limits.model_dump()
    given = {name: own[name] if own[name] is not None else (problem_limits or {}).get(name) for name in own}
    for name, value in given.items():
        if value is None:
            continue
        lo, hi = ranges[name]["min"], ranges[name]["max"]
        if not lo <= value <= hi:
            origin = "" if own[name] is not None else " (the problem's limit)"
            scope = f" for {lang}" if lang and origin else ""
            raise APIError(422, "limit_out_of_range",
                           f"limits.{name} = {value}{origin} is out of range{scope}; allowed {lo}..{hi}",
                           details={"field": f"limits.{name}", "min": lo, "max": hi})
    time_ms = given["time_ms"] if given["time_ms"] is not None else ranges["time_ms"]["default"]
    wall = ranges["wall_ms"]
    wall_ms = given["wall_ms"] if given["wall_ms"] is not None else min(max(3 * time_ms, wall["min"]), wall["max"])
    return ResolvedLimits(
        time_ms=time_ms,
        wall_ms=wall_ms,
        memory_mb=given["memory_mb"] if given["memory_mb"] is not None else ranges["memory_mb"]["default"],
        output_kb=given["output_kb"] if given["output_kb"] is not None else ranges["output_kb"]["default"],
    )
