"""pytest plugin of the LocalStack run (`-p tests.localstack.pytest_plugin`, tests/localstack/run.py):
skips, with their reason, the tests that make no sense against LocalStack."""

from __future__ import annotations

import os

import pytest

# Tests that never talk to the endpoint under test; they run in the main suite.
NOT_ABOUT_THE_ENDPOINT = {
    "test_make_run_stack_prints_a_working_curl_line_restarts_and_stops_cleanly":
        "`make run`'s supervisor starts its own embedded moto emulator and never talks to LocalStack "
        "(covered by the main suite)",
}

FAULT_REASON = (
    "fault injection stops or pauses the emulator process (SIGUSR1/SIGSTOP to infra.emulator); "
    "LocalStack here is an external endpoint the suite neither owns nor can take down "
    "(covered by the main suite on moto)"
)

# Modules whose every test stops or pauses the emulator (tests/faults, when run here too).
EMULATOR_OUTAGE_MODULES = {"test_emulator_outage"}

# Left out when the run is part of `make test` (CODEPIPE_LOCALSTACK_IN_MAKE_TEST=1, set by
# run.py --part-of-make-test), to keep it within its time budget; `make test-localstack` runs them.
LEFT_OUT_IN_MAKE_TEST = {
    "test_schemathesis_fuzz_against_openapi":
        "part of `make test`: the schemathesis fuzz (about 150 s) probes the gateway's request validation, "
        "which does not depend on the endpoint; it runs on moto in the main suite and in `make test-localstack`",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        module = item.module.__name__.rpartition(".")[2] if getattr(item, "module", None) else ""
        if item.get_closest_marker("fault") is not None or module in EMULATOR_OUTAGE_MODULES:
            item.add_marker(pytest.mark.skip(reason=f"LocalStack run: {FAULT_REASON}"))
        elif name in NOT_ABOUT_THE_ENDPOINT:
            item.add_marker(pytest.mark.skip(reason=f"LocalStack run: {NOT_ABOUT_THE_ENDPOINT[name]}"))
        elif name in LEFT_OUT_IN_MAKE_TEST and os.environ.get("CODEPIPE_LOCALSTACK_IN_MAKE_TEST") == "1":
            item.add_marker(pytest.mark.skip(reason=f"LocalStack run {LEFT_OUT_IN_MAKE_TEST[name]}"))
