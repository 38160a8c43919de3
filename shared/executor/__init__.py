"""The executor loop shared by every language (docs/ARCHITECTURE.md has the module map):
poll the language's queue, claim the job, compile and run it in the sandbox, judge, upload
outputs, write the verdict once."""

from shared.executor.context import IO_THREADS
from shared.executor.service import Executor, run_forever

__all__ = ["IO_THREADS", "Executor", "run_forever"]
