"""Programs and small helpers shared by the fault tests."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

ERROR_KEYS = {"code", "message"}


def assert_error_shape(resp: Any, status: int | None = None) -> dict[str, Any]:
    """SPEC §3: `{"error": {"code": "...", "message": "..."}}` (an optional `details` allowed)."""
    if status is not None:
        assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text[:1000]}"
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err, dict) and ERROR_KEYS <= set(err) <= ERROR_KEYS | {"details"}, body
    assert isinstance(err["code"], str) and err["code"], body
    assert isinstance(err["message"], str) and err["message"], body
    return err


def sleeping_python(seconds: float, answer: str = "42") -> str:
    return f"import time\ntime.sleep({seconds})\nprint({answer!r})\n"


def sleeping_c(seconds: int, marker: str, answer: str = "42") -> str:
    """Sleeps, printing `answer` at the end. First writes `marker` over one of its own
    environment strings, so the process can be found from the host in /proc/*/environ
    (to prove it does not outlive its executor)."""
    return (
        "#include <stdio.h>\n#include <string.h>\n#include <unistd.h>\n"
        "extern char **environ;\n"
        "int main(void){\n"
        f'  const char *m = "{marker}"; size_t n = strlen(m);\n'
        "  for (char **e = environ; e && *e; e++) if (strlen(*e) >= n) { memcpy(*e, m, n); break; }\n"
        f"  for (int i = 0; i < {seconds * 10}; i++) usleep(100000);\n"
        f'  printf("{answer}\\n"); return 0;\n'
        "}\n"
    )


def pids_with_marker(marker: str) -> list[int]:
    """Host processes whose /proc/PID/environ contains `marker`."""
    needle = marker.encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            data = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if needle in data:
            found.append(int(entry))
    return found


def wait_until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
