"""The supported languages: canonical names and the aliases clients may use."""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("c", "cpp", "java", "python")

ALIASES: dict[str, tuple[str, ...]] = {
    "c": ("c", "c17", "c11", "gcc"),
    "cpp": ("cpp", "c++", "cxx", "cc", "c++17", "cpp17", "g++"),
    "java": ("java", "java17", "jdk", "jdk17"),
    "python": ("python", "python3", "py", "py3", "cpython"),
}

_BY_ALIAS: dict[str, str] = {alias: name for name, aliases in ALIASES.items() for alias in aliases}


def canonical_language(name: str) -> str | None:
    """Map any accepted spelling (case-insensitive) to the canonical name, or None."""
    return _BY_ALIAS.get(name.strip().lower())
