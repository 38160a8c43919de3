"""The language registry: the one place that says which languages exist.

Each entry names the language, the spellings clients may use, the sandbox profile its programs
run under, the executor package that serves it, and any limit bounds of its own. The gateway's
validation and /languages, `make run`'s process list, infra/resources.py (queues), /health and
the tests all read it. Its queue is `{CODEPIPE_QUEUE_PREFIX}-{name}` (Settings.queue_name).

Adding a language (docs/ARCHITECTURE.md, "Adding a language"): an `executor_<name>/` package
with its spec module, one entry here, its name in the `Languages` default of
infra/cloudformation.yaml, its toolchain row in executor.Dockerfile and its four-line service
in docker-compose.yml (tests/unit/test_deploy_files.py checks that all of them agree).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from shared.limits import LimitRange, Range, limit_ranges

if TYPE_CHECKING:
    from shared.settings import Settings


@dataclass(frozen=True)
class Language:
    name: str
    title: str
    aliases: tuple[str, ...]            # other accepted spellings (case-insensitive)
    profile: str                        # the sandbox helper's --profile for its programs
    # Bounds of its own within the service-wide ranges, e.g. {"memory_mb": Range(16, 2048)}.
    limit_bounds: MappingProxyType[str, Range] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def package(self) -> str:
        """The executor package (`python -m executor_<name>`)."""
        return f"executor_{self.name}"

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def limit_ranges(self, settings: Settings) -> dict[str, LimitRange]:
        return limit_ranges(settings, dict(self.limit_bounds))


REGISTRY: tuple[Language, ...] = (
    Language("c", "C (gcc, C17)", ("c17", "c11", "gcc"), profile="c"),
    Language("cpp", "C++ (g++, C++17)", ("c++", "cxx", "cc", "c++17", "cpp17", "g++"), profile="cpp"),
    Language("java", "Java 17 (OpenJDK)", ("java17", "jdk", "jdk17"), profile="java"),
    Language("python", "Python 3 (CPython)", ("python3", "py", "py3", "cpython"), profile="python"),
    Language("go", "Go (gc)", ("golang", "go1"), profile="go"),
    Language("javascript", "JavaScript (Node.js)", ("js", "node", "nodejs"), profile="javascript"),
)

BY_NAME: MappingProxyType[str, Language] = MappingProxyType({lang.name: lang for lang in REGISTRY})
LANGUAGES: tuple[str, ...] = tuple(BY_NAME)
ALIASES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({lang.name: lang.spellings for lang in REGISTRY})
_BY_SPELLING: dict[str, str] = {s: lang.name for lang in REGISTRY for s in lang.spellings}


def canonical_language(name: str) -> str | None:
    """Map any accepted spelling (case-insensitive, surrounding blanks ignored) to the
    canonical name, or None."""
    return _BY_SPELLING.get(name.strip().lower())


def language(name: str) -> Language:
    """The registry entry of a canonical name (KeyError for anything else)."""
    return BY_NAME[name]
