"""Shared fixtures. `stack` (session) starts the real stack once: emulator, resources,
gateway and the four executors as separate processes (tests/stack.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.stack import Stack  # noqa: E402

_STACK: Stack | None = None


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    global _STACK
    log_dir = Path(os.environ.get("CODEPIPE_TEST_LOG_DIR") or tmp_path_factory.mktemp("stack-logs"))
    s = Stack(log_dir).start()
    _STACK = s
    try:
        yield s
    finally:
        _STACK = None
        s.stop()


@pytest.fixture
def executors(stack: Stack) -> Stack:
    """The stack, after checking that all four executors run (fails loudly otherwise)."""
    stack.require_executors()
    return stack


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.failed and _STACK is not None and "stack" in getattr(item, "fixturenames", ()):
        report.sections.append(("codepipe stack logs", _STACK.tail_all()))
