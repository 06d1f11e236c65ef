"""What the channels' sandboxes share: loopback stand-ins for the services govpub talks
to (``govpub sandbox NAME``), served in a thread for tests and the demo or in the
foreground from the command line, and misbehaving on purpose when told to.

Planned misbehaviour: a plan is a dataclass of counters ("the next 2 requests fail") and
their settings; requests use the counters up one at a time, ``POST /control`` changes them.
"""

from __future__ import annotations

import threading
from socketserver import BaseServer
from typing import Any, TypeVar

ServerT = TypeVar("ServerT", bound=BaseServer)
Plan = TypeVar("Plan")


def in_background(server: ServerT, name: str) -> ServerT:
    """Serve in a daemon thread (tests, the demo); ``shutdown()`` ends it."""
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server


def until_interrupted(server: BaseServer) -> None:
    """``govpub sandbox NAME``: serve in this thread until interrupted."""
    try:
        server.serve_forever()
    finally:
        server.server_close()


def use_up(plan: object, what: str, lock: threading.Lock) -> bool:
    """Use up one planned misbehaviour of a kind, if any is left."""
    with lock:
        left = getattr(plan, what)
        if left > 0:
            setattr(plan, what, left - 1)
        return bool(left > 0)


def replan(plan: Plan, changes: dict[str, Any], lock: threading.Lock) -> Plan:
    """The plan after ``changes`` (``{"reset": true}`` starts from a fresh one); unknown
    keys are ignored, values are converted to the field's type."""
    with lock:
        if changes.pop("reset", False):
            plan = type(plan)()
        for key, value in changes.items():
            if hasattr(plan, key):
                setattr(plan, key, type(getattr(plan, key))(value))
    return plan
