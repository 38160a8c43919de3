"""Measurement accuracy: CPU time and peak memory."""

from __future__ import annotations

import pytest
from conftest import scaled

pytestmark = pytest.mark.usefixtures("isolated")


def test_cpu_time_400ms(sb):
    r = sb.run(["./hostile", "busy", "400"], time_ms=2000)
    assert r.run["status"] == "OK", r.run
    assert 300 <= r.run["cpu_ms"] <= scaled(500), r.run
    assert r.run["wall_ms"] >= r.run["cpu_ms"] * 0.8


def test_memory_100mb(sb):
    r = sb.run(["./hostile", "touch", "100"], memory_mb=256)
    assert r.run["status"] == "OK", r.run
    kb = r.run["memory_kb"]
    assert 100 * 1024 * 0.95 <= kb <= 100 * 1024 * 1.5, r.run


def test_memory_small_program(sb):
    r = sb.run(["./hostile", "id"])
    assert 100 <= r.run["memory_kb"] <= 16 * 1024, r.run


def test_memory_just_under_limit_ok(sb):
    r = sb.run(["./hostile", "touch", "40"], memory_mb=64)
    assert r.run["status"] == "OK", r.run


def test_memory_over_limit_mle(sb):
    r = sb.run(["./hostile", "touch", "100"], memory_mb=64)
    assert r.run["status"] == "MLE", r.run


def test_wall_vs_cpu(sb):
    r = sb.run(["./hostile", "echo"], stdin="1 1\n")
    assert r.run["wall_ms"] < scaled(1000) and r.run["cpu_ms"] < scaled(100), r.run
