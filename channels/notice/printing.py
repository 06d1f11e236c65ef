"""Printing on a CUPS queue with ``lp``, the way an operator would: ``lp -d QUEUE``.

lp's exit status and words → the delivery error tree: a scheduler that does not
answer (CUPS down, the print server unreachable) is transient; a queue that does not
exist or does not accept jobs (``cupsreject``) is permanent, with lp's own words and
what to set; lp not installed is permanent naming ``lp_command``. A job whose lp did
not finish in time may be queued: in doubt, an operator looks (``lpstat -o``)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pipeline.errors import InDoubt, PermanentError, TransientError

TRANSIENT = (
    "scheduler not responding",
    "unable to connect",
    "connection refused",
    "no route to host",
    "timed out",
    "temporarily",
    "try again",
    "network is unreachable",
)
JOB = re.compile(r"request id is (\S+)")


def lp(
    command: str,
    printer: str,
    file: Path,
    title: str,
    *,
    server: str | None,
    timeout: float,
    channel: str,
) -> str:
    """Send ``file`` to ``printer``; answers CUPS's job id (``QUEUE-123``)."""
    args = [command, *(["-h", server] if server else []), "-d", printer, "-t", title[:120]]
    args += ["-o", "media=A4", "-o", "sides=one-sided", str(file)]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise PermanentError(
            f"{command!r} not found: install CUPS's client (Debian: cups-client) or set "
            f"channels.{channel}.options.lp_command"
        ) from exc
    except PermissionError as exc:
        raise PermanentError(
            f"{command!r} cannot be run ({exc}): check channels.{channel}.options.lp_command"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise InDoubt(
            f"lp gave no answer in {timeout:g}s: the job may be queued on {printer}; check with "
            f"`lpstat -o {printer}`, then confirm or resubmit the delivery"
        ) from exc
    words = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
    if done.returncode != 0:
        if any(sign in words.lower() for sign in TRANSIENT):
            raise TransientError(f"print queue {printer}: {words}")
        raise PermanentError(
            f"print queue {printer} refused the job: {words} (check the queue with `lpstat -p {printer}`, "
            "`cupsaccept` it, or change the place's printer)"
        )
    found = JOB.search(done.stdout)
    return found.group(1) if found else done.stdout.strip() or "queued"
