"""Solutions of tests/functions/problems.py in the six languages, as a user would paste them:
right ones, and wrong ones (wrong on every test), keyed by language, then by function name;
and twoSum, per language, that prints to stdout while it runs (PRINTS) or before main() or
the call (EARLY_PRINTS), or ends the process before it returns (EXITS)."""

from __future__ import annotations

RIGHT: dict[str, dict[str, str]] = {
    "c": {
        "twoSum": """int* twoSum(int* nums, int numsSize, int target, int* returnSize) {
    for (int i = 0; i < numsSize; i++)
        for (int j = i + 1; j < numsSize; j++)
            if ((long long)nums[i] + nums[j] == target) {
                int *r = malloc(2 * sizeof(int)); r[0] = i; r[1] = j; *returnSize = 2; return r;
            }
    *returnSize = 0;
    return NULL;
}
""",
        "minPathSum": """int minPathSum(int** grid, int gridSize, int* gridColSize) {
    int m = gridColSize[0]; int *d = malloc(sizeof(int) * m);
    for (int i = 0; i < gridSize; i++)
        for (int j = 0; j < m; j++) {
            int best = i == 0 && j == 0 ? 0 : INT_MAX;
            if (i > 0 && d[j] < best) best = d[j];
            if (j > 0 && d[j - 1] < best) best = d[j - 1];
            d[j] = best + grid[i][j];
        }
    return d[m - 1];
}
""",
        "repeatTwice": """char* repeatTwice(char* s) {
    size_t n = strlen(s); char *r = malloc(2 * n + 1);
    memcpy(r, s, n); memcpy(r + n, s, n); r[2 * n] = 0;
    return r;
}
""",
        "average": """double average(double* nums, int numsSize) {
    double s = 0; for (int i = 0; i < numsSize; i++) s += nums[i];
    return s / numsSize;
}
""",
        "transpose": """int** transpose(int** matrix, int matrixSize, int* matrixColSize, int* returnSize,
                int** returnColumnSizes) {
    int n = matrixSize, m = matrixColSize[0];
    int **r = malloc(sizeof(int *) * m); *returnColumnSizes = malloc(sizeof(int) * m); *returnSize = m;
    for (int j = 0; j < m; j++) {
        r[j] = malloc(sizeof(int) * n); (*returnColumnSizes)[j] = n;
        for (int i = 0; i < n; i++) r[j][i] = matrix[i][j];
    }
    return r;
}
""",
        "sumAll": """long long sumAll(long long* nums, int numsSize) {
    long long s = 0; for (int i = 0; i < numsSize; i++) s += nums[i];
    return s;
}
""",
        "keepFlagged": """char** keepFlagged(char** words, int wordsSize, bool* flags, int flagsSize, int* returnSize) {
    char **r = malloc(sizeof(char *) * (wordsSize + 1)); int k = 0;
    for (int i = 0; i < wordsSize && i < flagsSize; i++) if (flags[i]) r[k++] = words[i];
    *returnSize = k;
    return r;
}
""",
    },
    "cpp": {
        "twoSum": """class Solution {
public:
    vector<int> twoSum(vector<int>& nums, int target) {
        unordered_map<long long, int> seen;
        for (int i = 0; i < (int)nums.size(); i++) {
            auto it = seen.find((long long)target - nums[i]);
            if (it != seen.end()) return {it->second, i};
            seen[nums[i]] = i;
        }
        return {};
    }
};
""",
        "minPathSum": """class Solution {
public:
    int minPathSum(vector<vector<int>>& grid) {
        int n = grid.size(), m = grid[0].size();
        vector<int> d(m, INT_MAX); d[0] = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) d[j] = min(d[j], j ? d[j - 1] : INT_MAX) + grid[i][j];
        return d[m - 1];
    }
};
""",
        "repeatTwice": "class Solution {\npublic:\n    string repeatTwice(string s) { return s + s; }\n};\n",
        "average": """class Solution {
public:
    double average(const vector<double>& nums) { return accumulate(nums.begin(), nums.end(), 0.0) / nums.size(); }
};
""",
        "transpose": """class Solution {
public:
    vector<vector<int>> transpose(vector<vector<int>> m) {
        vector<vector<int>> r(m[0].size(), vector<int>(m.size()));
        for (size_t i = 0; i < m.size(); i++) for (size_t j = 0; j < m[0].size(); j++) r[j][i] = m[i][j];
        return r;
    }
};
""",
        "sumAll": """class Solution {
public:
    long long sumAll(vector<long long>& nums) { long long s = 0; for (auto x : nums) s += x; return s; }
};
""",
        "keepFlagged": """class Solution {
public:
    vector<string> keepFlagged(vector<string>& words, vector<bool>& flags) {
        vector<string> r;
        for (size_t i = 0; i < words.size(); i++) if (flags[i]) r.push_back(words[i]);
        return r;
    }
};
""",
    },
    "java": {
        "twoSum": """class Solution {
    public int[] twoSum(int[] nums, int target) {
        Map<Long, Integer> seen = new HashMap<>();
        for (int i = 0; i < nums.length; i++) {
            Integer j = seen.get((long) target - nums[i]);
            if (j != null) return new int[]{j, i};
            seen.put((long) nums[i], i);
        }
        return new int[0];
    }
}
""",
        "minPathSum": """class Solution {
    public int minPathSum(int[][] grid) {
        int m = grid[0].length; int[] d = new int[m]; Arrays.fill(d, Integer.MAX_VALUE); d[0] = 0;
        for (int[] row : grid)
            for (int j = 0; j < m; j++) d[j] = Math.min(d[j], j > 0 ? d[j - 1] : Integer.MAX_VALUE) + row[j];
        return d[m - 1];
    }
}
""",
        "repeatTwice": "class Solution {\n    public String repeatTwice(String s) { return s + s; }\n}\n",
        "average": """class Solution {
    public double average(double[] nums) { return Arrays.stream(nums).sum() / nums.length; }
}
""",
        "transpose": """class Solution {
    public int[][] transpose(int[][] m) {
        int[][] r = new int[m[0].length][m.length];
        for (int i = 0; i < m.length; i++) for (int j = 0; j < m[0].length; j++) r[j][i] = m[i][j];
        return r;
    }
}
""",
        "sumAll": """class Solution {
    public long sumAll(long[] nums) { long s = 0; for (long x : nums) s += x; return s; }
}
""",
        "keepFlagged": """class Solution {
    public String[] keepFlagged(String[] words, boolean[] flags) {
        List<String> r = new ArrayList<>();
        for (int i = 0; i < words.length; i++) if (flags[i]) r.add(words[i]);
        return r.toArray(new String[0]);
    }
}
""",
    },
    "python": {
        "twoSum": """class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen = {}
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i
        return []
""",
        "minPathSum": """class Solution:
    def minPathSum(self, grid: List[List[int]]) -> int:
        d = [math.inf] * len(grid[0])
        d[0] = 0
        for row in grid:
            for j, v in enumerate(row):
                d[j] = min(d[j], d[j - 1] if j else math.inf) + v
        return d[-1]
""",
        "repeatTwice": "class Solution:\n    def repeatTwice(self, s: str) -> str:\n        return s + s\n",
        "average": ("class Solution:\n    def average(self, nums: List[float]) -> float:\n"
                    "        return sum(nums) / len(nums)\n"),
        "transpose": """class Solution:
    def transpose(self, matrix: List[List[int]]) -> List[List[int]]:
        return [list(col) for col in zip(*matrix)]
""",
        "sumAll": "class Solution:\n    def sumAll(self, nums: List[int]) -> int:\n        return sum(nums)\n",
        "keepFlagged": """class Solution:
    def keepFlagged(self, words: List[str], flags: List[bool]) -> List[str]:
        return [w for w, f in zip(words, flags) if f]
""",
    },
    "javascript": {
        "twoSum": """class Solution {
  twoSum(nums, target) {
    const seen = new Map();
    for (let i = 0; i < nums.length; i++) {
      if (seen.has(target - nums[i])) return [seen.get(target - nums[i]), i];
      seen.set(nums[i], i);
    }
    return [];
  }
}
""",
        "minPathSum": """class Solution {
  minPathSum(grid) {
    const d = new Array(grid[0].length).fill(Infinity);
    d[0] = 0;
    for (const row of grid) row.forEach((v, j) => { d[j] = Math.min(d[j], j ? d[j - 1] : Infinity) + v; });
    return d[d.length - 1];
  }
}
""",
        "repeatTwice": "class Solution {\n  repeatTwice(s) { return s + s; }\n}\n",
        "average": "class Solution {\n  average(nums) { return nums.reduce((a, b) => a + b, 0) / nums.length; }\n}\n",
        "transpose": "class Solution {\n  transpose(m) { return m[0].map((_, j) => m.map((row) => row[j])); }\n}\n",
        "sumAll": "class Solution {\n  sumAll(nums) { return nums.reduce((a, b) => BigInt(a) + BigInt(b), 0n); }\n}\n",
        "keepFlagged": ("class Solution {\n  keepFlagged(words, flags) {\n"
                        "    return words.filter((_, i) => flags[i]);\n  }\n}\n"),
    },
    "go": {
        "twoSum": """func twoSum(nums []int, target int) []int {
	seen := map[int]int{}
	for i, x := range nums {
		if j, ok := seen[target-x]; ok {
			return []int{j, i}
		}
		seen[x] = i
	}
	return nil
}
""",
        "minPathSum": """import "math"

func minPathSum(grid [][]int) int {
	d := make([]int, len(grid[0]))
	for j := range d {
		d[j] = math.MaxInt32
	}
	d[0] = 0
	for _, row := range grid {
		for j, v := range row {
			left := math.MaxInt32
			if j > 0 {
				left = d[j-1]
			}
			if left < d[j] {
				d[j] = left
			}
			d[j] += v
		}
	}
	return d[len(d)-1]
}
""",
        "repeatTwice": "package main\n\nfunc repeatTwice(s string) string { return s + s }\n",
        "average": """func average(nums []float64) float64 {
	s := 0.0
	for _, x := range nums {
		s += x
	}
	return s / float64(len(nums))
}
""",
        "transpose": """func transpose(m [][]int) [][]int {
	r := make([][]int, len(m[0]))
	for j := range r {
		r[j] = make([]int, len(m))
		for i := range m {
			r[j][i] = m[i][j]
		}
	}
	return r
}
""",
        "sumAll": """func sumAll(nums []int64) int64 {
	var s int64
	for _, x := range nums {
		s += x
	}
	return s
}
""",
        "keepFlagged": """func keepFlagged(words []string, flags []bool) []string {
	r := []string{}
	for i, w := range words {
		if flags[i] {
			r = append(r, w)
		}
	}
	return r
}
""",
    },
}

# Wrong on every test of problems.TESTS (a 1 too many, a character too many, 1 % off).
WRONG: dict[str, dict[str, str]] = {
    "c": {
        "twoSum": RIGHT["c"]["twoSum"].replace("r[1] = j;", "r[1] = j + 1;"),
        "minPathSum": RIGHT["c"]["minPathSum"].replace("return d[m - 1];", "return d[m - 1] + 1;"),
        "repeatTwice": RIGHT["c"]["repeatTwice"].replace("r[2 * n] = 0;", "r[2 * n] = 0; r = realloc(r, 2 * n + 2); "
                                                          "strcat(r, \"!\");"),
        "average": RIGHT["c"]["average"].replace("return s / numsSize;", "return s / numsSize * 1.01;"),
    },
    "cpp": {
        "twoSum": RIGHT["cpp"]["twoSum"].replace("return {it->second, i};", "return {it->second, i + 1};"),
        "minPathSum": RIGHT["cpp"]["minPathSum"].replace("return d[m - 1];", "return d[m - 1] + 1;"),
        "repeatTwice": RIGHT["cpp"]["repeatTwice"].replace("return s + s;", "return s + s + \"!\";"),
        "average": RIGHT["cpp"]["average"].replace("/ nums.size();", "/ nums.size() * 1.01;"),
    },
    "java": {
        "twoSum": RIGHT["java"]["twoSum"].replace("new int[]{j, i}", "new int[]{j, i + 1}"),
        "minPathSum": RIGHT["java"]["minPathSum"].replace("return d[m - 1];", "return d[m - 1] + 1;"),
        "repeatTwice": RIGHT["java"]["repeatTwice"].replace("return s + s;", "return s + s + \"!\";"),
        "average": RIGHT["java"]["average"].replace("/ nums.length;", "/ nums.length * 1.01;"),
    },
    "python": {
        "twoSum": RIGHT["python"]["twoSum"].replace("[seen[target - x], i]", "[seen[target - x], i + 1]"),
        "minPathSum": RIGHT["python"]["minPathSum"].replace("return d[-1]", "return d[-1] + 1"),
        "repeatTwice": RIGHT["python"]["repeatTwice"].replace("return s + s", "return s + s + '!'"),
        "average": RIGHT["python"]["average"].replace("/ len(nums)", "/ len(nums) * 1.01"),
    },
    "javascript": {
        "twoSum": RIGHT["javascript"]["twoSum"].replace("[seen.get(target - nums[i]), i]",
                                                        "[seen.get(target - nums[i]), i + 1]"),
        "minPathSum": RIGHT["javascript"]["minPathSum"].replace("return d[d.length - 1];",
                                                                "return d[d.length - 1] + 1;"),
        "repeatTwice": RIGHT["javascript"]["repeatTwice"].replace("return s + s;", "return s + s + '!';"),
        "average": RIGHT["javascript"]["average"].replace("/ nums.length;", "/ nums.length * 1.01;"),
    },
    "go": {
        "twoSum": RIGHT["go"]["twoSum"].replace("return []int{j, i}", "return []int{j, i + 1}"),
        "minPathSum": RIGHT["go"]["minPathSum"].replace("return d[len(d)-1]", "return d[len(d)-1] + 1"),
        "repeatTwice": RIGHT["go"]["repeatTwice"].replace("return s + s", 'return s + s + "!"'),
        "average": RIGHT["go"]["average"].replace("return s / float64(len(nums))",
                                                  "return s / float64(len(nums)) * 1.01"),
    },
}

for _lang, _wrong in WRONG.items():  # a replacement that found nothing would make a "wrong" solution right
    for _name, _code in _wrong.items():
        assert _code != RIGHT[_lang][_name], (_lang, _name)


# A fake result line (a nonce of the right shape) among the solution's prints.
FAKE = "0123456789abcdef0123456789abcdef [9,9]"
PRINTS = {
    "c": RIGHT["c"]["twoSum"].replace(
        "    for (int i = 0;", f'    printf("debug\\n{FAKE}\\n"); fflush(stdout); write(1, "raw\\n", 4);\n'
                              "    for (int i = 0;", 1),
    "cpp": RIGHT["cpp"]["twoSum"].replace(
        "        unordered_map", f'        cout << "debug" << endl << "{FAKE}" << endl; printf("more\\n");\n'
                                "        unordered_map", 1),
    "java": RIGHT["java"]["twoSum"].replace(
        "        Map<Long", f'        System.out.println("debug"); System.out.println("{FAKE}");\n'
                           '        System.out.printf("%d%n", 1);\n        Map<Long', 1),
    "python": "import os, sys\nprint('at import')\n" + RIGHT["python"]["twoSum"].replace(
        "        seen = {}", f"        print('debug'); print('{FAKE}')\n"
                            "        sys.stdout.write('w\\n'); os.write(1, b'raw\\n')\n        seen = {}", 1),
    "go": 'import (\n\t"fmt"\n\t"os"\n\t"syscall"\n)\n\n' + RIGHT["go"]["twoSum"].replace(
        "\tseen := map", f'\tfmt.Println("debug")\n\tfmt.Println("{FAKE}")\n\tos.Stdout.WriteString("w\\n")\n'
                         '\tsyscall.Write(1, []byte("raw\\n"))\n\tseen := map', 1),
    "javascript": "console.log('at load');\n" + RIGHT["javascript"]["twoSum"].replace(
        "    const seen", f"    console.log('debug'); console.info('{FAKE}'); process.stdout.write('w\\n');\n"
                         "    const seen", 1),
}


# Prints before main() (or the call) runs: a C constructor of the highest priority a
# program may ask for (101) and of the default one, a C++ global object's constructor, Go's
# package-level variable initializers and init(), a Java static initializer, Python's and
# JavaScript's module top level. Each must land in stderr, the result line untouched.
EARLY = "early"
EARLY_PRINTS = {
    "c": ("#include <stdio.h>\n#include <unistd.h>\n"
          f'__attribute__((constructor(101))) static void first(void) {{ printf("{EARLY}\\n{FAKE}\\n"); '
          'fflush(stdout); write(1, "raw\\n", 4); }\n'
          '__attribute__((constructor)) static void second(void) { printf("buffered\\n"); }\n'
          + RIGHT["c"]["twoSum"]),
    "cpp": ("struct Early {\n"
            f'    Early() {{ cout << "{EARLY}" << endl << "{FAKE}" << endl; printf("c\\n"); write(1, "raw\\n", 4); }}\n'
            "} early;\n"
            f'__attribute__((constructor(101))) static void first() {{ printf("{FAKE}\\n"); fflush(stdout); }}\n'
            + RIGHT["cpp"]["twoSum"]),
    "java": RIGHT["java"]["twoSum"].replace(
        "class Solution {", "class Solution {\n"
        f'    static {{ System.out.println("{EARLY}"); System.out.println("{FAKE}"); Helper.touch(); }}', 1)
        + 'class Helper {\n    static { System.out.println("helper"); }\n    static void touch() {}\n}\n',
    "python": f"import os\nprint('{EARLY}')\nprint('{FAKE}', flush=True)\nos.write(1, b'raw\\n')\n"
              + RIGHT["python"]["twoSum"],
    "go": ('import (\n\t"fmt"\n\t"os"\n\t"syscall"\n)\n\n'
           f'var early = func() int {{ fmt.Println("{EARLY}"); fmt.Println("{FAKE}"); return 1 }}()\n\n'
           'func init() {\n\tos.Stdout.WriteString("init\\n")\n\tsyscall.Write(1, []byte("raw\\n"))\n}\n\n'
           + RIGHT["go"]["twoSum"]),
    "javascript": (f"console.log('{EARLY}');\nprocess.stdout.write('{FAKE}\\n');\nconsole.error('e');\n"
                   + RIGHT["javascript"]["twoSum"]),
}


EXITS = {
    "c": "#include <stdlib.h>\nint* twoSum(int* nums, int numsSize, int target, int* returnSize) { exit(0); }\n",
    "cpp": "class Solution {\npublic:\n    vector<int> twoSum(vector<int>& nums, int target) { exit(0); }\n};\n",
    "java": "class Solution {\n    public int[] twoSum(int[] nums, int target) { System.exit(0); return null; }\n}\n",
    "python": "import sys\nclass Solution:\n    def twoSum(self, nums, target):\n        sys.exit(0)\n",
    "go": 'import "os"\n\nfunc twoSum(nums []int, target int) []int {\n\tos.Exit(0)\n\treturn nil\n}\n',
    "javascript": "class Solution {\n  twoSum(nums, target) { process.exit(0); }\n}\n",
}
