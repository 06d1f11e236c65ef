"""A fault-injection seam for crash-recovery tests: die at a named step.

``GOVPUB_CRASH_AT=<step>`` in a worker's environment makes that worker SIGKILL its whole
process group (the Celery main process and its pool) the moment it reaches the step,
as a power cut or an OOM kill would, leaving whatever was half done. Channels mark the
steps whose recovery matters (``crash_point("wechat.submit")`` right after
``freepublish/submit`` answered, before anything recorded it). Without the variable a
crash point does nothing; nothing in production sets it.
"""

from __future__ import annotations

import os
import signal

ENV = "GOVPUB_CRASH_AT"


def crash_point(step: str) -> None:
    """SIGKILL this process group if ``GOVPUB_CRASH_AT`` names ``step``."""
    if os.environ.get(ENV) != step:
        return
    os.write(2, f"govpub: crash point {step} reached, killing process group\n".encode())
    os.killpg(os.getpgrp(), signal.SIGKILL)
