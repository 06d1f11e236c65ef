"""The test connect guard and resolver stub inside govpub's own processes.

A test that starts ``govpub serve``/``worker`` puts this folder first on PYTHONPATH and
names a JSON file in ``GOVPUB_TEST_NETGUARD``: ``{"names": {"metadata.test":
["169.254.169.254"]}, "report": "/tmp/…/attempts"}``. Python imports ``sitecustomize``
at start-up, so every such process (and a prefork worker's children) resolves the test
names from the table, never asks a real resolver for another name, and refuses and
records in ``report`` every connect beyond loopback: the test reads the file.
"""

from __future__ import annotations

import json
import os

_CONFIG = os.environ.get("GOVPUB_TEST_NETGUARD")
if _CONFIG:
    import socket

    from tests.netguard import ConnectGuard, FakeDNS

    with open(_CONFIG, encoding="utf-8") as _file:
        _settings = json.load(_file)

    class _Patch:
        """What pytest's monkeypatch does, for the life of the process."""

        def setattr(self, target: object, name: str, value: object) -> None:
            setattr(target, name, value)

    class _Reported(list[str]):
        def append(self, attempt: str) -> None:
            with open(_settings["report"], "a", encoding="utf-8") as out:
                out.write(attempt + "\n")

    _guard = ConnectGuard()
    _guard.attempts = _Reported()
    _guard.install(_Patch())  # type: ignore[arg-type]
    FakeDNS(_settings.get("names", {})).install(_Patch())  # type: ignore[arg-type]
    del socket
