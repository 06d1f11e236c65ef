"""Planned misbehaviour, shared by the HTTP sandboxes' ``/control`` endpoints.

A plan is a dataclass of counters ("the next 2 requests fail") and their settings;
requests use the counters up one at a time, ``POST /control`` changes them.
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar

Plan = TypeVar("Plan")


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
