"""Go (gc): `go build` of main.go and the other top-level .go files of package main.

Build mode: GOPATH mode with a file list (GO111MODULE=off). A submission is one package main
(plus, at most, local packages in subdirectories imported as "./pkg"); there is nothing to
resolve, so no go.mod, go.sum, module cache or proxy is ever consulted, and an import outside
the standard library fails with a plain "cannot find package". GOPROXY=off and
GOTOOLCHAIN=local are belt and braces (the sandbox has no network anyway). Module mode would
need a generated go.mod, and -mod=mod would try to resolve imports; -mod=vendor only makes
sense with a vendor directory nobody sends.

The standard library: `-trimpath` (no box paths in binaries and panics) means the standard
library is compiled with -trimpath too, which takes tens of seconds. warm_up() does it once
per executor into a GOCACHE keyed by toolchain version, environment, flags and package list,
and every job gets that cache hard-linked into its box as gocache/ (root-owned and read-only:
go build reads it, and only fails to add its own entries, which it tolerates). Until the warm
cache is ready a build runs without -trimpath against the toolchain's own precompiled standard
library (Debian's Go ships one in GOROOT/pkg), with an empty GOCACHE of its own.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import ClassVar

from executor_go import harness
from shared.functions import FunctionProgram
from shared.judge_config import FunctionSpec
from shared.language_spec import LanguageSpec, build_tree_atomically, tree_files
from shared.models import ResolvedLimits, Verdict
from shared.sandbox import SandboxRun

GO = "/usr/bin/go"
SH = "/bin/sh"

# --procs of a run; GOMAXPROCS follows it, so a program runs on as many cores as it may use
# processes (its CPU time is then close to its wall time, as for the other languages).
RUN_PROCS = 1

# What every build and the warm-up share (part of the warm cache's key).
BUILD_ENV: dict[str, str] = {
    "GO111MODULE": "off",
    "GOPROXY": "off",
    "GOTOOLCHAIN": "local",
    "GOFLAGS": "",
    "GOENV": "off",
    "GOTELEMETRY": "off",
    # Pure Go: static binaries, no C compiler in the build; `import "C"` is refused.
    "CGO_ENABLED": "0",
    # Nothing there (the sandbox shows only the system directories and the box), so only the
    # standard library and the box's own packages are importable; not under /tmp, so that a
    # "cannot find package" message names no path that looks like the host's.
    "GOPATH": "/go",
}
# -s -w: no symbol table or DWARF (a third of the link time; panics still name functions and
# lines). -buildmode=exe: a package that is not main is an error, not a silently built archive.
BUILD_FLAGS: tuple[str, ...] = ("-trimpath", "-buildmode=exe", "-buildvcs=false", "-ldflags=-s -w")
FALLBACK_FLAGS: tuple[str, ...] = BUILD_FLAGS[1:]

# What judges' Go programs import, with their dependencies (~55 packages, ~270 cache files).
# Another standard package still builds, in the job, just slower (net/http: seconds).
WARM_PACKAGES: tuple[str, ...] = (
    "bufio", "bytes", "container/heap", "container/list", "container/ring", "encoding/json",
    "errors", "fmt", "io", "math", "math/big", "math/bits", "math/cmplx", "math/rand", "os",
    "regexp", "sort", "strconv", "strings", "sync", "sync/atomic", "time", "unicode",
    "unicode/utf8",
)
CACHE_DIR = "gocache"            # the warm cache inside the box
JOB_CACHE_DIR = ".gocache"       # a job's own cache while there is no warm one
# Go's cache needs all 256 of its subdirectories; those the warm build left empty get this
# (the job cannot create them: the linked cache's directories are not its own).
PLACEHOLDER = ".placeholder"


def _script(cache_dir: str, flags: Sequence[str]) -> str:
    """The compile step: GOCACHE must be absolute, and only the shell in the box knows where
    the box is. The file names follow as "$@" (never parsed by the shell)."""
    quoted = " ".join(f"'{flag}'" for flag in flags)
    return f'GOCACHE="$PWD/{cache_dir}" exec {GO} build {quoted} -o main "$@"'


def _cache_key() -> str:
    text = repr((sorted(BUILD_ENV.items()), BUILD_FLAGS, WARM_PACKAGES))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _warm(tmp: Path) -> None:
    """Compile WARM_PACKAGES with BUILD_FLAGS' compiler settings into the cache `tmp`."""
    with tempfile.TemporaryDirectory(prefix="go-warm-") as home:
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, **BUILD_ENV, "GOCACHE": str(tmp)}
        # Link flags and -buildmode=exe do not change how a package compiles; -trimpath does.
        proc = subprocess.run([GO, "build", "-trimpath", *WARM_PACKAGES], env=env, cwd=home,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=1800, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"go build of the warm packages failed: {proc.stderr.decode(errors='replace')[-400:]}")
    for i in range(256):
        sub = tmp / f"{i:02x}"
        sub.mkdir(exist_ok=True)
        if not any(sub.iterdir()):
            (sub / PLACEHOLDER).touch()


def warm_cache(cache_dir: Path) -> Path:
    """The warm GOCACHE under `cache_dir` (built by the first caller, then reused)."""
    return build_tree_atomically(cache_dir / f"gocache-{_cache_key()}", _warm)


class GoSpec(LanguageSpec):
    name = "go"
    profile = "go"
    source_file = "main.go"
    version_command = (GO, "version")
    run_procs = RUN_PROCS
    env: ClassVar[dict[str, str]] = {**LanguageSpec.env, **BUILD_ENV, "GOMAXPROCS": str(RUN_PROCS)}
    source_suffixes = (".go",)
    prelink_box = True  # the warm GOCACHE: ~370 files in 256 directories

    def warm_up(self, cache_dir: Path) -> dict[str, Path]:
        return tree_files(warm_cache(cache_dir), CACHE_DIR)

    def extra_sources(self, names: Collection[str]) -> list[str]:
        # The other files of package main. A .go file in a subdirectory belongs to a package
        # of its own, imported by its relative path ("./pkg"): go build finds it itself.
        return sorted(n for n in names if n.endswith(".go") and "/" not in n and not n.endswith("_test.go"))

    def compile_command(self, source_name: str, linked: Collection[str] = (),
                        sources: Sequence[str] = ()) -> list[str]:
        # The warm cache only when all of it is there (a partial one lacks subdirectories).
        warm = bool(self.box_links) and set(self.box_links) <= set(linked)
        script = _script(CACHE_DIR, BUILD_FLAGS) if warm else _script(JOB_CACHE_DIR, FALLBACK_FLAGS)
        return [SH, "-c", script, "go-build", source_name, *sources]

    def run_command(self, source_name: str, limits: ResolvedLimits, code: str = "") -> list[str]:
        return ["./main"]

    def refine_verdict(self, verdict: Verdict, run: SandboxRun, stderr: bytes) -> Verdict:
        # The runtime's own words when the OS refused it memory (a huge allocation, or an
        # address-space limit); under the memory cgroup the OOM killer usually comes first.
        tail = stderr[-8192:]
        if verdict == Verdict.RUNTIME_ERROR and (b"fatal error: out of memory" in tail
                                                 or b"fatal error: runtime: out of memory" in tail):
            return Verdict.MEMORY_LIMIT_EXCEEDED
        return verdict

    def function_program(self, code: str, fn: FunctionSpec) -> FunctionProgram:
        return harness.function_program(code, fn)

    def missing_function(self, code: str, fn: FunctionSpec) -> str | None:
        return harness.missing_function(code, fn)


SPEC = GoSpec()
