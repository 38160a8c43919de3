"""Output comparison, verdict mapping, job aggregation and previews (shared/judging/)."""

from __future__ import annotations

import pytest

from shared.judging.compare import numbers_close, outputs_match, parse_compare
from shared.judging.verdicts import PREVIEW_BYTES, job_verdict, judge_one, preview, status_verdict
from shared.models import Verdict

V = Verdict


class TestExact:
    def test_identical(self) -> None:
        assert outputs_match(b"3\n", "3\n", "exact")

    @pytest.mark.parametrize("actual", [b"3", b"3\n\n", b"3 \n", b"3\r\n", b" 3\n"])
    def test_any_difference_fails(self, actual: bytes) -> None:
        assert not outputs_match(actual, "3\n", "exact")

    def test_non_utf8_bytes_compare_bytewise(self) -> None:
        assert outputs_match(b"\xff\xfe", b"\xff\xfe", "exact")
        assert not outputs_match(b"\xff\xfe", "\ufffd\ufffd", "exact")


class TestLines:
    @pytest.mark.parametrize(
        "actual",
        [b"1 2\n3\n", b"1 2\n3", b"1 2   \n3\t\n", b"1 2\n3\n\n\n", b"1 2\r\n3\r\n", b"1 2 \n3\n  \n\n"],
    )
    def test_trailing_whitespace_and_blank_lines_ignored(self, actual: bytes) -> None:
        assert outputs_match(actual, "1 2\n3\n", "lines")

    @pytest.mark.parametrize(
        "actual",
        [b" 1 2\n3\n", b"1  2\n3\n", b"\n1 2\n3\n", b"1 2\n\n3\n", b"1 2\n3\n4\n", b"1 2\n", b""],
    )
    def test_other_differences_matter(self, actual: bytes) -> None:
        assert not outputs_match(actual, "1 2\n3\n", "lines")

    def test_is_the_default(self) -> None:
        assert outputs_match(b"ok   \n\n", "ok")

    def test_empty_outputs(self) -> None:
        assert outputs_match(b"", "")
        assert outputs_match(b"\n\n", "")
        assert not outputs_match(b"x", "")

    def test_expected_trailing_spaces_ignored_too(self) -> None:
        assert outputs_match(b"a\n", "a   \n\n")

    def test_non_utf8(self) -> None:
        assert outputs_match(b"\xff \n", b"\xff")
        assert not outputs_match(b"\xfe", b"\xff")


class TestTokens:
    def test_any_whitespace_separates(self) -> None:
        assert outputs_match(b"1   2\n\n3\t4 ", "1 2 3 4\n", "tokens")

    def test_token_content_must_match(self) -> None:
        assert not outputs_match(b"1 2 3", "1 2 3 4", "tokens")
        assert not outputs_match(b"1.0", "1", "tokens")
        assert not outputs_match(b"12", "1 2", "tokens")

    def test_empty(self) -> None:
        assert outputs_match(b"  \n", "", "tokens")


class TestFloat:
    def test_within_absolute_eps(self) -> None:
        assert outputs_match(b"0.3333333\n", "0.333333333\n", "float:1e-6")
        assert not outputs_match(b"0.3334\n", "0.3333\n", "float:1e-6")

    def test_relative_eps_for_large_numbers(self) -> None:
        assert outputs_match(b"1000000.1", "1000000", "float:1e-6")
        assert not outputs_match(b"1000002", "1000000", "float:1e-6")

    def test_mixed_tokens_and_words(self) -> None:
        assert outputs_match(b"Case #1: 2.0000001\n", "Case #1: 2.0\n", "float:1e-6")
        assert not outputs_match(b"Case #2: 2.0\n", "Case #1: 2.0\n", "float:1e-6")

    def test_exponent_and_signs(self) -> None:
        assert outputs_match(b"1e3 -0.0 +5", "1000.0 0 5", "float:1e-9")

    def test_count_mismatch(self) -> None:
        assert not outputs_match(b"1.0 2.0", "1.0", "float:1e-3")

    def test_python_float_quirks_are_not_numbers(self) -> None:
        # float("1_0") == 10.0 in Python; as output it is the text "1_0".
        assert not outputs_match(b"1_0", "10", "float:1e-6")

    def test_nan_and_inf(self) -> None:
        assert outputs_match(b"nan inf -inf", "NaN Inf -Inf", "float:1e-6")
        assert not outputs_match(b"nan", "1.0", "float:1e-6")
        assert not outputs_match(b"inf", "1e308", "float:1e-6")

    def test_zero_eps_is_equality_of_values(self) -> None:
        assert outputs_match(b"1.50", "1.5", "float:0")
        assert not outputs_match(b"1.5000001", "1.5", "float:0")

    def test_numbers_close(self) -> None:
        assert numbers_close(1.0, 1.0 + 1e-7, 1e-6)
        assert numbers_close(1e9, 1e9 + 100, 1e-6)
        assert not numbers_close(0.0, 1e-5, 1e-6)


class TestParseCompare:
    def test_modes(self) -> None:
        assert parse_compare("lines") == ("lines", 0.0)
        assert parse_compare("float:1e-6") == ("float", 1e-6)

    @pytest.mark.parametrize("mode", ["", "fuzzy", "float:", "float:x", "float:-1", "float:inf"])
    def test_bad_modes(self, mode: str) -> None:
        with pytest.raises(ValueError):
            parse_compare(mode)


class TestStatusVerdict:
    @pytest.mark.parametrize(
        ("status", "exit_code", "verdict"),
        [
            ("OK", 0, None),
            ("OK", 3, V.RUNTIME_ERROR),
            ("RE", 0, V.RUNTIME_ERROR),
            ("RE", 139, V.RUNTIME_ERROR),
            ("TLE", 0, V.TIME_LIMIT_EXCEEDED),
            ("MLE", 0, V.MEMORY_LIMIT_EXCEEDED),
            ("OLE", 0, V.OUTPUT_LIMIT_EXCEEDED),
            ("SV", 0, V.SECURITY_VIOLATION),
            ("IE", 0, V.INTERNAL_ERROR),
            ("WAT", 0, V.INTERNAL_ERROR),
        ],
    )
    def test_mapping(self, status: str, exit_code: int, verdict: Verdict | None) -> None:
        assert status_verdict(status, exit_code) == verdict

    def test_judge_one(self) -> None:
        assert judge_one("OK", 0, b"3\n", "3") == V.ACCEPTED
        assert judge_one("OK", 0, b"4\n", "3") == V.WRONG_ANSWER
        assert judge_one("OK", 1, b"3\n", "3") == V.RUNTIME_ERROR
        assert judge_one("TLE", 0, b"3\n", "3") == V.TIME_LIMIT_EXCEEDED
        # Correct output does not rescue a limit violation.
        assert judge_one("OLE", 0, b"3\n", "3") == V.OUTPUT_LIMIT_EXCEEDED

    def test_no_expected_means_no_judging(self) -> None:
        assert judge_one("OK", 0, b"anything", None) == V.ACCEPTED
        assert judge_one("OK", 2, b"", None) == V.RUNTIME_ERROR

    def test_compare_mode_is_used(self) -> None:
        assert judge_one("OK", 0, b"1 2", "1\n2", "tokens") == V.ACCEPTED
        assert judge_one("OK", 0, b"1 2", "1\n2", "lines") == V.WRONG_ANSWER


class TestJobVerdict:
    def test_all_accepted(self) -> None:
        assert job_verdict([V.ACCEPTED, V.ACCEPTED]) == V.ACCEPTED

    def test_first_failure_wins(self) -> None:
        verdicts = [V.ACCEPTED, V.TIME_LIMIT_EXCEEDED, V.WRONG_ANSWER]
        assert job_verdict(verdicts) == V.TIME_LIMIT_EXCEEDED
        assert job_verdict(iter([V.WRONG_ANSWER, V.RUNTIME_ERROR])) == V.WRONG_ANSWER

    def test_empty(self) -> None:
        assert job_verdict([]) == V.ACCEPTED


class TestPreview:
    def test_short(self) -> None:
        assert preview(b"hello\n") == "hello\n"
        assert preview(None) == ""
        assert preview("text") == "text"

    def test_truncated_to_4_kib(self) -> None:
        assert preview(b"x" * 10_000) == "x" * PREVIEW_BYTES

    def test_cut_multibyte_character_is_replaced_not_an_error(self) -> None:
        data = b"a" * (PREVIEW_BYTES - 1) + "é".encode()
        out = preview(data)
        assert out.startswith("a" * (PREVIEW_BYTES - 1))
        assert out.endswith("\ufffd")

    def test_invalid_utf8(self) -> None:
        assert preview(b"ok\xff\xfe!") == "ok\ufffd\ufffd!"
