"""Limit ranges agree end to end: every value the gateway accepts, the sandbox helper accepts
and enforces, and the first value past each end is refused by the gateway (422) before it
could reach the helper. Walks every limit's bounds of every language through both, with the
real helper binary (`make setup` builds it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from api_gateway.errors import APIError
from api_gateway.validation import validate_submission
from shared.languages import REGISTRY, Language
from shared.limits import LIMIT_NAMES, helper_ranges, max_parallel
from shared.sandbox import build_command
from shared.settings import Settings

S = Settings()
HELPER = S.sandbox


def helper_accepts(tmp_path: Path, profile: str, flag_values: dict[str, int], parallel: int | None = None) -> \
        subprocess.CompletedProcess[str]:
    box = tmp_path / "box"
    box.mkdir(exist_ok=True)
    os.chmod(tmp_path, 0o755)
    os.chmod(box, 0o755)
    for name in ("in", "out", "err"):
        (tmp_path / name).touch()
    limits = {"time_ms": 1000, "wall_ms": 3000, "memory_mb": 64, "output_kb": 64, **flag_values}
    from shared.models import ResolvedLimits

    cmd = build_command(HELPER, profile=profile, limits=ResolvedLimits(**limits), argv=["/bin/true"],
                        parallel=parallel, workdir=box, stdin=tmp_path / "in", stdout=tmp_path / "out",
                        stderr=tmp_path / "err")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module", autouse=True)
def built_helper() -> None:
    assert HELPER.is_file(), f"{HELPER} is not built: run `make setup` (the test suite needs the real helper)"


@pytest.mark.parametrize("lang", REGISTRY, ids=lambda lang: lang.name)
@pytest.mark.parametrize("limit", LIMIT_NAMES)
def test_both_ends_of_every_limit(tmp_path: Path, lang: Language, limit: str) -> None:
    rng = lang.limit_ranges(S)[limit]
    for value in (rng.min, rng.max):
        sub = validate_submission({"language": lang.name, "code": "x", "limits": {limit: value}}, S)
        assert getattr(sub.request.limits, limit) == value
        # what the executor hands the helper for this job
        proc = helper_accepts(tmp_path, lang.profile, sub.request.limits.model_dump())
        assert proc.returncode == 0, f"gateway accepts {limit}={value} for {lang.name}, helper refuses: {proc.stderr}"
    for value in (rng.min - 1, rng.max + 1):
        with pytest.raises(APIError) as info:
            validate_submission({"language": lang.name, "code": "x", "limits": {limit: value}}, S)
        assert info.value.status == 422 and f"limits.{limit}" in info.value.message


@pytest.mark.parametrize("limit", LIMIT_NAMES)
def test_the_helper_refuses_just_past_its_own_range(tmp_path: Path, limit: str) -> None:
    """So the header shared/limits.py reads is the helper's real range, not a copy of it."""
    rng = helper_ranges()[limit]
    for value, ok in ((rng.min, True), (rng.min - 1, False), (rng.max + 1, False)):
        flags = {limit: value}
        if limit == "time_ms" and value > 3000:
            flags["wall_ms"] = value
        proc = helper_accepts(tmp_path, "c", flags)
        assert (proc.returncode == 0) == ok, (limit, value, proc.stderr)
        if not ok:
            assert proc.returncode == 2 and f"{rng.min}..{rng.max}" in proc.stderr


def test_parallel_setting_within_the_helper(tmp_path: Path) -> None:
    top = max_parallel()
    assert Settings(parallel=top).parallel == top
    assert helper_accepts(tmp_path, "c", {}, parallel=top).returncode == 0
    assert helper_accepts(tmp_path, "c", {}, parallel=top + 1).returncode == 2
    with pytest.raises(ValidationError):
        Settings(parallel=top + 1)
    # the default never exceeds what the helper runs, however many cores the host has
    assert 1 <= Settings().parallel <= top


def test_configured_caps_must_fit_the_helper() -> None:
    for setting, value in (("max_memory_mb", helper_ranges()["memory_mb"].max + 1),
                           ("default_memory_mb", helper_ranges()["memory_mb"].min - 1),
                           ("compile_time_ms", helper_ranges()["time_ms"].max + 1)):
        with pytest.raises(ValidationError, match="sandbox helper accepts"):
            Settings(**{setting: value})
