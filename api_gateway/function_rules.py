"""What /submit checks for function (signature) judging, SPEC §9: a signature it can parse with
types of the list, and tests whose `input` is a JSON array of the arguments and whose `expected`
is a JSON value of the return type. All 422, naming the field and what is allowed."""

from __future__ import annotations

from collections.abc import Sequence

from api_gateway.errors import APIError
from shared.functions.types import args_errors, signature_errors, value_errors
from shared.judge_config import FunctionSpec
from shared.models import TestCase

TYPES_ALLOWED = "int, long, double, bool, string, and T[] / T[][] of those"


def check_function(fn: FunctionSpec, cases: Sequence[TestCase], *, with_judge: bool) -> None:
    errors = signature_errors(fn)
    if errors:
        raise APIError(422, "invalid_signature", f"function: {'; '.join(errors[:5])} (types: {TYPES_ALLOWED})",
                       details={"errors": errors[:20]})
    if with_judge:
        raise APIError(422, "function_with_judge",
                       "function: a function-judged job compares results as JSON values; it takes no checker "
                       "or interactor")
    if not cases:
        raise APIError(422, "function_without_tests",
                       "function: give test_cases, each input a JSON array of the arguments and expected "
                       "the JSON of the result")
    for n, case in enumerate(cases):
        problems = args_errors(fn, case.input)
        if case.expected is None:
            problems.append("expected: the JSON of the result is required")
        else:
            problems += [f"expected: {e}" for e in value_errors(fn.returns, case.expected)]
        if problems:
            raise APIError(422, "invalid_function_test", f"test_cases.{n}: {'; '.join(problems[:5])}",
                           details={"test_case": n, "errors": problems[:20]})
