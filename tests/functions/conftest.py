"""Fixtures of the function-judging tests: the sandbox helper (built if missing) and, per
language, a spec with its warm caches ready."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor_c.spec import CSpec
from executor_cpp.spec import CppSpec
from executor_go.spec import GoSpec
from executor_java.spec import JavaSpec
from executor_javascript.spec import JavaScriptSpec
from executor_python.spec import PythonSpec
from shared.language_spec import LanguageSpec
from shared.sandbox import Sandbox
from shared.settings import REPO_ROOT
from tests.functions.runner import FunctionRunner, cache_root

SPECS: dict[str, type[LanguageSpec]] = {"c": CSpec, "cpp": CppSpec, "java": JavaSpec, "python": PythonSpec,
                                         "go": GoSpec, "javascript": JavaScriptSpec}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/functions/" in str(item.fspath):
            item.add_marker(pytest.mark.functions)


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    binary = REPO_ROOT / "native_sandbox" / "build" / "sandbox"
    if not binary.exists():
        subprocess.run(["make", "-C", str(REPO_ROOT / "native_sandbox")], check=True, capture_output=True)
    return Sandbox(binary)


_SPECS: dict[str, LanguageSpec] = {}


def warm_spec(lang: str) -> LanguageSpec:
    """A fresh spec of `lang` with its compile caches built (or found) under cache_root()."""
    if lang not in _SPECS:
        spec = SPECS[lang]()
        key = hashlib.sha256(f"{spec.version()}\n{spec.compile_command('x')}".encode()).hexdigest()[:16]
        spec.box_links = spec.warm_up(cache_root() / lang / key)
        _SPECS[lang] = spec
    return _SPECS[lang]


@pytest.fixture
def runner(request: pytest.FixtureRequest, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[FunctionRunner]:
    lang = request.param
    root = tmp_path_factory.mktemp("fn-work")
    os.chmod(root, 0o700)
    yield FunctionRunner(sandbox, warm_spec(lang), Path(root))
