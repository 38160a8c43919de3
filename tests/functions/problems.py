"""The function-judging problems of the tests, with their tests (input, expected) as JSON."""

from __future__ import annotations

from tests.functions.runner import case, fn

TWO_SUM = fn("twoSum", [("nums", "int[]"), ("target", "int")], "int[]")
MIN_PATH = fn("minPathSum", [("grid", "int[][]")], "int")
TWICE = fn("repeatTwice", [("s", "string")], "string")
AVERAGE = fn("average", [("nums", "double[]")], "double")
TRANSPOSE = fn("transpose", [("matrix", "int[][]")], "int[][]")
SUM_ALL = fn("sumAll", [("nums", "long[]")], "long")
KEEP = fn("keepFlagged", [("words", "string[]"), ("flags", "bool[]")], "string[]")

TRICKY = 'naïve ☃ 😀 "q" \\ \n\t/\u0001'

TESTS = {
    "twoSum": [case([[2, 7, 11, 15], 9], [0, 1]), case([[3, 2, 4], 6], [1, 2]), case([[3, 3], 6], [0, 1]),
               case([[-(2**31), 5, 2**31 - 1], -1], [0, 2])],
    "minPathSum": [case([[[1, 3, 1], [1, 5, 1], [4, 2, 1]]], 7), case([[[1, 2, 3], [4, 5, 6]]], 12), case([[[5]]], 5)],
    "repeatTwice": [case(["ab"], "abab"), case([""], ""), case([TRICKY], TRICKY * 2)],
    "average": [case([[1, 2, 3, 4]], 2.5), case([[0.1, 0.2]], 0.15), case([[1e300, 1e300]], 1e300),
                case([[-1.5, 2.5, 1]], 2 / 3)],
    "transpose": [case([[[1, 2, 3], [4, 5, 6]]], [[1, 4], [2, 5], [3, 6]]), case([[[7]]], [[7]])],
    "sumAll": [case([[2**53 + 1, 1]], 2**53 + 2), case([[2**62, 2**62 - 1, -5]], 2**63 - 6), case([[]], 0)],
    "keepFlagged": [case([["apple", "b", "cherry"], [True, False, True]], ["apple", "cherry"]), case([[], []], []),
                    case([[TRICKY, "x"], [True, True]], [TRICKY, "x"])],
}
SIGNATURES = {f.name: f for f in (TWO_SUM, MIN_PATH, TWICE, AVERAGE, TRANSPOSE, SUM_ALL, KEEP)}
