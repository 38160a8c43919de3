"""shared/functions: the type list, signature and test-data checks, the result channel's framing
and the comparison of results (SPEC §9)."""

from __future__ import annotations

import json

import pytest

from shared.functions import FunctionProgram
from shared.functions.compare import eps_of, judge_output, results_match, values_equal
from shared.functions.framing import FramingError, Result, decode_output, encode_input, new_nonce
from shared.functions.types import FnType, SignatureError, args_errors, parse_type, signature_errors, value_errors
from shared.judge_config import FunctionSpec


def fn(name: str, params: list[tuple[str, str]], returns: str) -> FunctionSpec:
    return FunctionSpec.model_validate({"name": name, "params": [{"name": n, "type": t} for n, t in params],
                                        "returns": returns})


TWO_SUM = fn("twoSum", [("nums", "int[]"), ("target", "int")], "int[]")


# --- types ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "parsed"), [
    ("int", FnType("int", 0)), ("long[]", FnType("long", 1)), ("string[][]", FnType("string", 2)),
    (" double [ ] ", FnType("double", 1)), ("bool", FnType("bool", 0)),
])
def test_parse_type(text: str, parsed: FnType) -> None:
    assert parse_type(text) == parsed
    assert str(parsed) == text.replace(" ", "")


@pytest.mark.parametrize("text", ["float", "Integer", "int[][][]", "int[", "list[int]", "", "vector<int>", "char"])
def test_unknown_types_are_refused_with_the_list(text: str) -> None:
    with pytest.raises(SignatureError) as exc:
        parse_type(text)
    assert "allowed: int, long, double, bool, string, int[]" in str(exc.value)


def test_a_valid_signature_has_no_errors() -> None:
    assert signature_errors(TWO_SUM) == []
    assert signature_errors(fn("f", [], "bool")) == []
    assert signature_errors(fn("transpose", [("matrix", "int[][]")], "int[][]")) == []


@pytest.mark.parametrize(("spec", "needle"), [
    (fn("twoSum", [("nums", "float[]")], "int"), "parameter 1 ('nums'): type: unknown type 'float[]'"),
    (fn("twoSum", [("nums", "int[]")], "void"), "returns: unknown type 'void'"),
    (fn("class", [], "int"), "function name 'class' is a reserved word"),
    (fn("f", [("self", "int")], "int"), "'self' is a reserved word"),
    (fn("f", [("func", "int")], "int"), "'func' is a reserved word"),
    (fn("f", [("arguments", "int")], "int"), "'arguments' is a reserved word"),
    (fn("f", [("x", "int"), ("x", "long")], "int"), "duplicate parameter name 'x'"),
    (fn("f", [("2x", "int")], "int"), "'2x' is not an identifier in every language"),
    (fn("f", [("größe", "int")], "int"), "not an identifier in every language"),
    (fn("my-func", [], "int"), "'my-func' is not an identifier"),
    (fn("f", [("cp_args", "int")], "int"), "starts with 'cp_'"),
    (fn("f", [("nums", "int[]"), ("numsSize", "int")], "int"), "gets a C parameter 'numsSize'"),
    (fn("f", [("g", "int[][]"), ("gColSize", "int")], "int"), "gets a C parameter 'gColSize'"),
    (fn("f", [("returnSize", "int")], "int[]"), "the result (int[]) gets a C parameter 'returnSize'"),
])
def test_bad_signatures_name_what_is_wrong(spec: FunctionSpec, needle: str) -> None:
    errors = signature_errors(spec)
    assert any(needle in e for e in errors), errors


def test_args_errors() -> None:
    assert args_errors(TWO_SUM, "[[2, 7, 11, 15], 9]") == []
    assert args_errors(TWO_SUM, "[[], -2147483648]") == []
    assert args_errors(TWO_SUM, "[[2, 7], 9, 1]") == ["input has 3 arguments, twoSum(nums, target) takes 2"]
    assert args_errors(TWO_SUM, '{"nums": []}')[0].startswith("input must be a JSON array of the 2 arguments")
    assert args_errors(TWO_SUM, "[[1, 2.5], 3]") == ["input[0] (nums: int[])[1]: expected int (an integer), got 2.5"]
    assert args_errors(TWO_SUM, "[[1, true], 3]") == ["input[0] (nums: int[])[1]: expected int (an integer), got true"]
    assert args_errors(TWO_SUM, "[[1], 2147483648]") == [
        "input[1] (target: int): 2147483648 is out of the int range -2147483648..2147483647"]
    assert args_errors(TWO_SUM, "[[1], NaN]")[0].startswith("input is not valid JSON: NaN is not JSON")
    assert args_errors(TWO_SUM, "[[1]")[0].startswith("input is not valid JSON")
    assert args_errors(TWO_SUM, "[5, 1]") == ["input[0] (nums: int[]): expected int[] (a JSON array), got 5"]


def test_value_errors() -> None:
    assert value_errors("long", str(2**63 - 1)) == []
    assert value_errors("long", str(2**63)) == [f"value: {2**63} is out of the long range {-(2**63)}..{2**63 - 1}"]
    assert value_errors("double", "2") == [] and value_errors("double", "1e-300") == []
    assert value_errors("double", "true") == ["value: expected double (a number), got true"]
    assert value_errors("bool", "1") == ["value: expected bool (true or false), got 1"]
    assert value_errors("string", '"caf\\u00e9 😀"') == []
    assert value_errors("string", '"a\\u0000b"') == ["value: a string may not contain U+0000 (C strings end there)"]
    assert "lone surrogate" in value_errors("string", '"\\ud800"')[0]
    assert value_errors("int[][]", "[[1], [], [2, 3]]") == []  # ragged rows are fine
    assert value_errors("int[][]", "[[1], 2]") == ["value[1]: expected int[] (a JSON array), got 2"]
    assert value_errors("int[]", json.dumps(["x"] * 100)).__len__() == 20  # bounded
    assert value_errors("float", "1.0")[0].startswith("unknown type 'float'")


# --- framing --------------------------------------------------------------------------------------
def test_encode_input_is_the_nonce_line_then_compact_json() -> None:
    nonce = new_nonce()
    assert len(nonce) == 32 and nonce != new_nonce()
    data = encode_input(nonce, '[ [2, 7, 11, 15] ,\n 9, "é\\n" ]')
    assert data == f'{nonce}\n[[2,7,11,15],9,"é\\n"]\n'.encode()
    with pytest.raises(ValueError):
        encode_input("short", "[]")
    with pytest.raises(ValueError):
        encode_input(nonce, "[NaN]")


def test_decode_output_takes_exactly_one_line_with_the_nonce() -> None:
    nonce = new_nonce()
    assert decode_output(nonce, f"{nonce} [0,1]\n".encode()) == Result("[0,1]", [0, 1])
    assert decode_output(nonce, f'{nonce} "x"'.encode()) == Result('"x"', "x")  # no final newline: fine
    for stdout, why in [
        (b"", "returned no result"),
        (f"{nonce} [0,1]\n{nonce} [0,1]\n".encode(), "holds 2 lines"),
        (f"debug\n{nonce} [0,1]\n".encode(), "holds 2 lines"),
        (f"{nonce} [0,1]\ntrailing".encode(), "holds 2 lines"),
        (f"{new_nonce()} [0,1]\n".encode(), "not the harness's result line"),
        (f"{nonce}[0,1]\n".encode(), "not the harness's result line"),
        (f"{nonce} [0,1] extra\n".encode(), "not valid JSON"),
        (f"{nonce} NaN\n".encode(), "not valid JSON"),
        (nonce.encode() + b" \xff\n", "not valid JSON"),
    ]:
        decoded = decode_output(nonce, stdout)
        assert isinstance(decoded, FramingError) and why in decoded.message, (stdout, decoded)


# --- compare --------------------------------------------------------------------------------------
def test_values_equal() -> None:
    assert values_equal([0, 1], [0, 1]) and not values_equal([0, 1], [1, 0]) and not values_equal([0], [0, 0])
    assert values_equal(0.15000000000000002, 0.15) and values_equal(1e300 * (1 + 1e-9), 1e300)
    assert not values_equal(0.1501, 0.15) and values_equal(0.1501, 0.15, eps=1e-3)
    assert values_equal(2, 2.0) and values_equal(2.0, 2)  # a double written as an integer
    assert not values_equal(True, 1) and not values_equal(1, True) and not values_equal(False, 0.0)
    assert not values_equal("1", 1) and not values_equal(None, 0) and values_equal(None, None)
    assert values_equal([[1.0, 2.0000001], []], [[1, 2], []])
    assert values_equal(2**63 - 1, 2**63 - 1) and not values_equal(2**63 - 1, 2**63 - 2)


def test_results_match_uses_the_declared_type() -> None:
    assert results_match(2.5, 2.5000001, "double") and not results_match(2.5, 2.6, "double")
    assert not results_match(2.0, 2, "int") and results_match(2, 2, "long")
    assert results_match([1, 2.0000000001], [1, 2], "double[]")
    assert not results_match([1, 2], [1, 2.5], "int[]")
    assert results_match(1.0, 1.04, "double", "float:0.05") and not results_match(1.0, 1.04, "double", "lines")
    assert eps_of("float:1e-3") == 1e-3 and eps_of("lines") == 1e-6 and eps_of(None) == 1e-6


def test_judge_output() -> None:
    nonce = new_nonce()
    ok = judge_output(nonce, f"{nonce} [0,1]\n".encode(), "[0, 1]", "int[]")
    assert ok.accepted and ok.actual == "[0,1]" and ok.reason is None
    wrong = judge_output(nonce, f"{nonce} [1,0]\n".encode(), "[0, 1]", "int[]")
    assert not wrong.accepted and wrong.actual == "[1,0]" and "differs" in (wrong.reason or "")
    early = judge_output(nonce, b"", "[0, 1]", "int[]")
    assert not early.accepted and early.actual is None and "no result" in (early.reason or "")


def test_function_program_lists_the_other_files() -> None:
    program = FunctionProgram("Main.java", {"Main.java": "x", "Solution.java": "y", "lib/Util.java": "z"})
    assert program.extra_names == ["Solution.java", "lib/Util.java"]
